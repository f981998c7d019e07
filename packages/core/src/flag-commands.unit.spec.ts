import { describe, expect, it } from 'vitest';
import { planFlagdImport } from './commands.js';
import { newEvent, type FlagdDefinition, type ManifestDocument } from './events.js';
import { cmd, meta } from './testing/event-builders.js';
import { resolveFlag } from './flags.js';
import { foldNew, given, recorded } from './testing/given.js';
import { fold } from './scope-state.js';
import { diffStates, planRevert, stateAt } from './time-travel.js';

/** Deciders, fold, diff and revert for flag definitions and segments. */

const scope = { namespace: 'shop', environment: 'prod' };
const manifest: ManifestDocument = {
  keys: {},
  flags: { banner: { type: 'string' }, checkout: { type: 'boolean' } },
  secrets: {},
};
const published = newEvent('ManifestPublished', { namespace: 'shop', manifest }, meta);
const banner = (targeting?: unknown): FlagdDefinition => ({
  state: 'ENABLED',
  variants: { a: 'A', b: 'B' },
  defaultVariant: 'a',
  ...(targeting === undefined ? {} : { targeting }),
});
const definitionSet = (flag: string, definition: FlagdDefinition) =>
  newEvent('FlagDefinitionSet', { ...scope, flag, definition }, meta);
const segmentSet = (segment: string, logic: unknown) => newEvent('SegmentSet', { ...scope, segment, logic }, meta);
const pro = { '==': [{ var: 'plan' }, 'pro'] };

describe('SetFlagDefinition', () => {
  it('given a declared flag, when a valid definition is set, then FlagDefinitionSet', () => {
    given([published])
      .when(cmd.setFlagDefinition('banner', banner()))
      .then([definitionSet('banner', banner())]);
  });
  it('given a boolean flag, when string variants are set, then VALIDATION_FAILED naming variants', () => {
    const error = given([published])
      .when(cmd.setFlagDefinition('checkout', banner()))
      .thenThrows('VALIDATION_FAILED', /variants: the manifest declares a boolean flag/);
    expect(error.details).toMatchObject({ problems: [{ path: 'variants' }] });
  });
  it('given no such segment, when a definition refs it, then VALIDATION_FAILED naming the $ref path', () => {
    given([published])
      .when(cmd.setFlagDefinition('banner', banner({ if: [{ $ref: 'pro' }, 'b', null] })))
      .thenThrows('VALIDATION_FAILED', /targeting\.if\[0\]\.\$ref: unknown segment "pro"/);
  });
  it('given an undeclared flag, then UNKNOWN_KEY', () => {
    given([published]).when(cmd.setFlagDefinition('nope', banner())).thenThrows('UNKNOWN_KEY');
  });
});

describe('SetSegment / DeleteSegment', () => {
  it('given valid JsonLogic, then SegmentSet; given invalid, then VALIDATION_FAILED naming the path', () => {
    given([published])
      .when({ type: 'SetSegment', ...scope, segment: 'pro', logic: pro, metadata: meta })
      .then([segmentSet('pro', pro)]);
    given([published])
      .when({ type: 'SetSegment', ...scope, segment: 'pro', logic: { and: [{ zap: 1 }] }, metadata: meta })
      .thenThrows('VALIDATION_FAILED', /\$evaluators\.pro\.and\[0\]\.zap: unknown operator/);
  });
  it('given segments, when one is changed to close a cycle, then VALIDATION_FAILED', () => {
    given([published, segmentSet('a', pro), segmentSet('b', { $ref: 'a' })])
      .when({ type: 'SetSegment', ...scope, segment: 'a', logic: { $ref: 'b' }, metadata: meta })
      .thenThrows('VALIDATION_FAILED', /cyclic \$ref/);
  });
  it('given a flag using a segment, when the segment is deleted, then VALIDATION_FAILED naming the flag', () => {
    const history = [
      published,
      segmentSet('pro', pro),
      definitionSet('banner', banner({ if: [{ $ref: 'pro' }, 'b', null] })),
    ];
    given(history)
      .when({ type: 'DeleteSegment', ...scope, segment: 'pro', metadata: meta })
      .thenThrows('VALIDATION_FAILED', /still referenced by flags\.banner\.targeting/);
    given([published, segmentSet('pro', pro)])
      .when({ type: 'DeleteSegment', ...scope, segment: 'pro', metadata: meta })
      .then([newEvent('SegmentDeleted', { ...scope, segment: 'pro' }, meta)]);
    given([published])
      .when({ type: 'DeleteSegment', ...scope, segment: 'pro', metadata: meta })
      .then([]);
  });
});

describe('planFlagdImport', () => {
  const file = {
    $evaluators: { pro },
    flags: {
      banner: banner({ if: [{ $ref: 'pro' }, 'b', null] }),
      'dark.mode': { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'off' },
    },
  };
  it('given flags missing from the manifest, then the manifest declares them (type from variants), segments before flags', () => {
    const state = foldNew([
      newEvent('ManifestPublished', { namespace: 'shop', manifest: { keys: {}, flags: {}, secrets: {} } }, meta),
    ]);
    const plan = planFlagdImport(file, state, meta);
    expect(plan.declaresFlags).toBe(true);
    expect(plan.events.map((e) => e.type)).toEqual([
      'ManifestPublished',
      'SegmentSet',
      'FlagDefinitionSet',
      'FlagDefinitionSet',
    ]);
    expect((plan.events[0]!.data as { manifest: ManifestDocument }).manifest.flags).toEqual({
      banner: { type: 'string' },
      'dark.mode': { type: 'boolean' },
    });
    const after = fold(state, recorded(plan.events, state.position));
    expect(resolveFlag(after, 'banner', { plan: 'pro' }).value).toBe('B');
  });
  it('given a declared type the file disagrees with, then every problem is named by its path in the file, nothing planned', () => {
    const state = foldNew([published]);
    expect(() =>
      planFlagdImport({ flags: { checkout: banner(), banner: { state: 'OFF', variants: { a: 'A' } } } }, state, meta),
    ).toThrow(/flags\.checkout\.variants: the manifest declares a boolean flag.*flags\.banner\.state/);
  });
});

describe('diff and revert cover definitions and segments', () => {
  it('given a rule change, when reverting to before it, then the old definition and segment come back', () => {
    const history = recorded([
      published,
      segmentSet('pro', pro),
      definitionSet('banner', banner({ if: [{ $ref: 'pro' }, 'b', null] })),
      segmentSet('pro', { '==': [{ var: 'plan' }, 'enterprise'] }),
      definitionSet('banner', banner({ if: [{ $ref: 'pro' }, 'a', 'b'] })),
      segmentSet('eu', { '==': [{ var: 'region' }, 'eu'] }),
    ]);
    const now = stateAt(history, 6, scope);
    const then = stateAt(history, 3, scope);
    expect(
      diffStates(then, now).map((c) => `${c.kind}:${'flag' in c ? c.flag : 'segment' in c ? c.segment : ''}`),
    ).toEqual(['flag:banner', 'segment:eu', 'segment:pro']);
    const plan = planRevert(now, then, { actor: 'admin', revertTo: 3 });
    expect(plan.streams.flatMap((s) => s.events.map((e) => e.type))).toEqual([
      'SegmentSet',
      'FlagDefinitionSet',
      'SegmentDeleted',
    ]);
    const reverted = fold(
      now,
      recorded(
        plan.streams.flatMap((s) => s.events),
        6,
      ),
    );
    expect(diffStates(then, reverted)).toEqual([]);
    expect(resolveFlag(reverted, 'banner', { plan: 'pro' }).value).toBe('B');
  });
  it('given a definition replaced by the shorthand, when reverting, then the definition is set again', () => {
    const history = recorded([
      published,
      definitionSet('checkout', { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' }),
      newEvent('FlagRolloutChanged', { ...scope, flag: 'checkout', rollout: 10, enabled: true }, meta),
    ]);
    const plan = planRevert(stateAt(history, 3, scope), stateAt(history, 2, scope), { actor: 'admin', revertTo: 2 });
    expect(plan.streams[0]!.events).toMatchObject([{ type: 'FlagDefinitionSet', data: { flag: 'checkout' } }]);
  });
});
