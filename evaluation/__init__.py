"""Measuring the assistant: question sets, execution accuracy, the LangChain SQL-agent baseline, `abordo eval`.

Above `assistant` (it asks questions the way users do); nothing below imports it.

`cli` runs a question set (the composition root); `questions` reads the sets, `placeholders` fills
needs-data questions from the database, `readonly_db` runs gold and predicted SQL, `compare` holds the
result-comparison rules, `scoring` scores one answer into a `Record`, `reports` aggregates and prints,
`baseline` is the stock LangChain agent, `errors` the one error.
"""
