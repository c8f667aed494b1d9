"""What staff are told about an answer, computed from the checked SQL and the rows, never from the model:
the restatement of what the query computed and the result's column labels (`restater`), the answer
sentences and the check of a model-written summary (`sentences`), and the people a name matched
(`namesakes`)."""
from assistant.explain.restater import Restatement, Words, column_labels, restate

__all__ = ["Restatement", "Words", "column_labels", "restate"]
