"""Zoho CRM behind one small interface: OAuth against a data centre, records API v8."""
