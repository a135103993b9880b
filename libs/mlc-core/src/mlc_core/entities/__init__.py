"""One definition per entity: its Sage side (`sage.SAGE_TABLES`) and its Zoho side
(`zoho.ZOHO_TARGETS`, with the modules they name in `zoho.ZOHO_MODULES`). Every other per-entity
table in the services is derived from these; docs/architecture.md lists what adding one takes.
"""
