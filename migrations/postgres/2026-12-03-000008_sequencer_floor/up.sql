-- Where the sequencer's search for unnumbered events starts. Numbering an
-- event leaves its old row version in `events_unsequenced` until a vacuum,
-- so a search from the start steps over every event numbered since the
-- last vacuum (most of the sequencer's cost under load). `floor_seq`: no
-- event at or below it is still unnumbered or will ever be written.
--
-- It rises in two steps. A round reads the last `seq` handed out and only
-- then gets its transaction id; it stores the two as `cand_seq` and
-- `cand_xid`. Writers take their transaction id before their events' `seq`,
-- so every transaction that can still write an event at or below
-- `cand_seq` has an id below `cand_xid`. Once the oldest running
-- transaction id (in the whole cluster) is above `cand_xid`, all of them
-- have ended; the next round numbers what they committed and raises the
-- floor to `cand_seq`. A transaction left open anywhere holds the floor
-- back: the search then starts lower (slower), never higher.
ALTER TABLE event_head ADD COLUMN floor_seq BIGINT NOT NULL DEFAULT 0;
ALTER TABLE event_head ADD COLUMN cand_seq BIGINT;
ALTER TABLE event_head ADD COLUMN cand_xid xid8;
