-- strata.append_batch plans its statements once per connection instead of on every call.
--
-- PL/pgSQL hands each statement's parameters to the plan cache, which plans the first five calls
-- for their actual values and then keeps a generic plan only when its estimated cost is no worse.
-- The array parameters (unnest over arrays of unknown length) always estimate worse generically, so
-- every call was planned again: a quarter of the backend's CPU on a lone one-event append (0.43 ms
-- per call from pgbench, 0.32 ms with this setting). The statements have one sensible plan whatever
-- the arrays hold (index lookups per stream and per key, an insert from unnest), so the generic plan
-- is the right one for every batch size; an 8 × 100-event group commit measured the same either way.
ALTER FUNCTION strata.append_batch(
  text[], integer[], text[], integer[], text[], text[], integer[], text, text, timestamptz
) SET plan_cache_mode = force_generic_plan;
