import type { FlagdDefinition } from '../events.js';

/** Boolean flags as flagd files write them, for specs of import, evaluation and previews. */

/** Variants `on`/`off`, `off` by default; `targeting` (JsonLogic) picks one per context. */
export const onOffFlag = (targeting?: unknown, state: FlagdDefinition['state'] = 'ENABLED'): FlagdDefinition => ({
  state,
  variants: { on: true, off: false },
  defaultVariant: 'off',
  ...(targeting === undefined ? {} : { targeting }),
});

/** Targeting: `on` for the members of `segment`, for everyone else `percentOn` % by flagd's `fractional`. */
export const segmentThenFraction = (segment: string, percentOn: number) => ({
  if: [
    { $ref: segment },
    'on',
    {
      fractional: [
        ['on', percentOn],
        ['off', 100 - percentOn],
      ],
    },
  ],
});
