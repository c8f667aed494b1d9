"""Measuring the assistant: question sets, execution accuracy, the LangChain SQL-agent baseline, `abordo eval`.

Above `assistant` (it asks questions the way users do); nothing below imports it.
"""
