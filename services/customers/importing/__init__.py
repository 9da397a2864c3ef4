"""File imports (`POST /v1/imports`): reading CSV/NDJSON files in blocks and turning blocks of rows into
customers, orders and interactions with set-based writes. The job itself (status, progress, resume,
error report) lives in `services.customers.imports`.

Modules: `files` (format, header, blocks of records with their line numbers and byte offsets), `columns`
(vectorised parsing of text columns with the same rules as the batch API), `bulk` (COPY / executemany
writes), `customer_rows`, `order_lines` (one chunk of each kind; interactions live in
`services.customers.interactions`).
"""
