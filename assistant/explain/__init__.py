"""What staff are told about an answer, computed from the checked SQL and the rows, never from the model:
the restatement of what the query computed and the result's column labels (`restater`, which reads the
statement, with `conditions`, `forms`, `labels` and `phrasing`), the answer sentences and the check of a
model-written summary (`sentences`), and the people a name matched (`namesakes`)."""
from assistant.explain.labels import Words, column_labels
from assistant.explain.phrasing import Restatement
from assistant.explain.restater import restate

__all__ = ["Restatement", "Words", "column_labels", "restate"]
