-- Consumer positions (relay, projectors): saved only after the consumer handled the events.
CREATE TABLE strata.checkpoints (
  name       text        PRIMARY KEY,
  position   bigint      NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Derived and disposable: a folded state of one scope at one position, so a point-in-time read
-- starts from the nearest snapshot instead of the beginning of the log. Not append-only.
CREATE TABLE strata.snapshots (
  scope      text        NOT NULL,
  position   bigint      NOT NULL,
  state      jsonb       NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (scope, position)
);
