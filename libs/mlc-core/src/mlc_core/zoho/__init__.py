"""Zoho CRM behind one small interface, the only code that speaks HTTP to Zoho: OAuth against
a data centre (oauth, consent), the records API v8 (records: write, read by external key,
list), and the org and metadata API (metadata). Every failure is a class of errors.ZohoError."""
