ALTER TABLE event_head DROP COLUMN cand_xid;
ALTER TABLE event_head DROP COLUMN cand_seq;
ALTER TABLE event_head DROP COLUMN floor_seq;
