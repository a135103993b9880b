-- Every batch asks which of its records (and which of its parents) have a command parked
-- (zoho_writer/parking.py `parked_records`). During an initial load a tenant has up to its
-- whole table parked; without this index each batch read all of that tenant's parked rows.
CREATE INDEX writer_parked_record ON writer_parked (tenant_id, module, external_value);
