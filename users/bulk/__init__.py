"""Bulk CSV for people and phones (Control Hub's users CSV, DESIGN §7, reference/webex-api.md §9).

columns.py  the column spec (names, order, read-only columns, header matching with suggestions)
parse.py    bytes → records (encodings, delimiters, quoting) → a DataFrame of strings with row numbers
validate.py every row planned against the organisation with bulk lookups: the preview, and the plan applied
apply.py    the bulk domain action: plans applied in atomic batches, audited with `record_changes`
phones.py   the bulk phones CSV (validated in bulk, each phone added through `create_device`)
jobs.py     the Job lifecycle shared by portal, /v1 and the management commands; tasks.py runs it in Celery
export.py   streaming export; views.py / api.py / urls.py / api_urls.py the two doors
"""
