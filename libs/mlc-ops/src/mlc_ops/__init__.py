"""The operations of ml-connector (status, trail, failures, replay, sync, ping, reconcile, Zoho
setup, tenant changes), written once for every front end: the `mlc` CLI and the web console.

Each operation is an async function whose dependencies (pool, keyring, settings, http client)
are keyword-only arguments; it returns typed results (dataclasses), never prints, and reports
the progress of a long run through an optional callback. It reads and writes a service's data
only through that service's declared surface (its `admin` module), and Zoho only through
`mlc_core.zoho`.
"""
