import { describe, expect, it } from 'vitest';
import { newEvent, type FlagdDefinition, type ManifestDocument } from './events.js';
import { cmd, meta } from './testing/event-builders.js';
import { evaluateFlag, resolveFlag } from './flags.js';
import { foldNew, given, recorded } from './testing/given.js';
import { fold } from './scope-state.js';
import { diffStates, planRevert, stateAt } from './time-travel.js';

/**
 * Tenant overrides of typed flags: `enabled` / `disabled` on a non-boolean flag, a pinned
 * variant, and the manifest's declared variants.
 */

const scope = { namespace: 'shop', environment: 'prod' };
const manifest: ManifestDocument = {
  keys: {},
  flags: {
    color: { type: 'string', variants: ['red', 'blue'] },
    checkout: { type: 'boolean' },
    legacy: { type: 'boolean' },
  },
  secrets: {},
};
const published = newEvent('ManifestPublished', { namespace: 'shop', manifest }, meta);
const color = (state: 'ENABLED' | 'DISABLED' = 'ENABLED'): FlagdDefinition => ({
  state,
  variants: { red: 'R', blue: 'B' },
  defaultVariant: 'red',
  targeting: { if: [{ '==': [{ var: 'plan' }, 'pro'] }, 'blue', null] },
});
const definitionSet = (flag: string, definition: FlagdDefinition) =>
  newEvent('FlagDefinitionSet', { ...scope, flag, definition }, meta);
const override = (tenant: string, flag: string, o: 'enabled' | 'disabled' | null, variant?: string) =>
  newEvent(
    'FlagOverrideSet',
    { ...scope, tenant, flag, override: o, ...(variant === undefined ? {} : { variant }) },
    meta,
  );

describe('enabled / disabled overrides on a non-boolean flag', () => {
  it('given disabled, then DISABLED with the caller default; given enabled, then the rule decides even when the flag is DISABLED', () => {
    const state = foldNew([
      published,
      definitionSet('color', color('DISABLED')),
      override('off', 'color', 'disabled'),
      override('on', 'color', 'enabled'),
    ]);
    expect(resolveFlag(state, 'color', { plan: 'pro' }, { tenant: 'off' })).toMatchObject({
      value: undefined,
      reason: 'DISABLED',
    });
    expect(resolveFlag(state, 'color', { plan: 'pro' }, { tenant: 'on' })).toMatchObject({
      value: 'B',
      variant: 'blue',
      reason: 'TARGETING_MATCH',
    });
    expect(resolveFlag(state, 'color', { plan: 'free' }, { tenant: 'on' })).toMatchObject({
      value: 'R',
      reason: 'DEFAULT',
    });
    expect(resolveFlag(state, 'color', { plan: 'pro' }, { tenant: 'nobody' }).reason).toBe('DISABLED');
  });
});

describe('SetFlagOverride with a variant', () => {
  const history = [published, definitionSet('color', color())];
  it('given a known variant, then FlagOverrideSet carries it and it always wins, reason TARGETING_MATCH', () => {
    given(history)
      .when(cmd.setFlagOverride('acme', 'color', 'enabled', 'red'))
      .then([override('acme', 'color', 'enabled', 'red')]);
    const state = foldNew([...history, override('acme', 'color', 'enabled', 'red')]);
    expect(state.overrides.get('acme')?.get('color')).toMatchObject({ override: 'enabled', variant: 'red' });
    expect(resolveFlag(state, 'color', { plan: 'pro' }, { tenant: 'acme' })).toMatchObject({
      value: 'R',
      variant: 'red',
      reason: 'TARGETING_MATCH',
    });
    expect(resolveFlag(state, 'color', { plan: 'pro' }, { tenant: 'other' }).variant).toBe('blue');
  });
  it('given an unknown variant, then VALIDATION_FAILED naming variant', () => {
    const error = given(history)
      .when(cmd.setFlagOverride('acme', 'color', 'enabled', 'green'))
      .thenThrows('VALIDATION_FAILED', /variant: unknown variant "green"; the definition has "red", "blue"/);
    expect(error.details).toMatchObject({ problems: [{ path: 'variant' }] });
  });
  it('given a flag without a definition in the environment, then VALIDATION_FAILED', () => {
    given([published])
      .when(cmd.setFlagOverride('acme', 'color', 'enabled', 'red'))
      .thenThrows('VALIDATION_FAILED', /has no definition in this environment/);
  });
  it('given the shorthand, then its on / off variants can be pinned, and evaluateFlag agrees', () => {
    const rollout = newEvent('FlagRolloutChanged', { ...scope, flag: 'legacy', rollout: 100, enabled: true }, meta);
    const state = foldNew([published, rollout, override('acme', 'legacy', 'enabled', 'off')]);
    expect(resolveFlag(state, 'legacy', {}, { tenant: 'acme' })).toMatchObject({ value: false, variant: 'off' });
    expect(evaluateFlag(state, 'legacy', 'acme')).toMatchObject({ enabled: false, reason: 'override' });
    expect(evaluateFlag(state, 'legacy', 'other')).toMatchObject({ enabled: true, reason: 'rollout' });
  });
  it('given the definition later loses the pinned variant, then ERROR (the caller default), never a guess', () => {
    const state = foldNew([
      published,
      definitionSet('checkout', { state: 'ENABLED', variants: { on: true, off: false }, defaultVariant: 'on' }),
      override('acme', 'checkout', 'enabled', 'off'),
      definitionSet('checkout', { state: 'ENABLED', variants: { yes: true, no: false }, defaultVariant: 'yes' }),
    ]);
    expect(resolveFlag(state, 'checkout', {}, { tenant: 'acme' })).toMatchObject({
      value: undefined,
      reason: 'ERROR',
      errorCode: 'GENERAL',
    });
  });
  it('given a variant with a disabled override, then VALIDATION_FAILED', () => {
    given(history)
      .when(cmd.setFlagOverride('acme', 'color', 'disabled', 'red'))
      .thenThrows('VALIDATION_FAILED', /override must be "enabled"/);
  });
});

describe('diff and revert cover variant overrides', () => {
  it('given red then blue, when reverting to red, then the red override comes back', () => {
    const events = recorded([
      published,
      definitionSet('color', color()),
      override('acme', 'color', 'enabled', 'red'),
      override('acme', 'color', 'enabled', 'blue'),
    ]);
    const then = stateAt(events, 3, scope);
    const now = stateAt(events, 4, scope);
    expect(diffStates(then, now)).toMatchObject([
      {
        kind: 'override',
        tenant: 'acme',
        flag: 'color',
        before: { override: 'enabled', variant: 'red' },
        after: { override: 'enabled', variant: 'blue' },
      },
    ]);
    const plan = planRevert(now, then, { actor: 'admin', revertTo: 3 });
    const reverted = fold(
      now,
      recorded(
        plan.streams.flatMap((s) => s.events),
        4,
      ),
    );
    expect(plan.streams.flatMap((s) => s.events)).toMatchObject([
      { type: 'FlagOverrideSet', data: { variant: 'red', override: 'enabled' } },
    ]);
    expect(diffStates(then, reverted)).toEqual([]);
    expect(resolveFlag(reverted, 'color', {}, { tenant: 'acme' }).variant).toBe('red');
  });
});

describe('the manifest declares variants', () => {
  it('given declared variants, then a definition with others or fewer is VALIDATION_FAILED naming the path', () => {
    const error = given([published])
      .when(
        cmd.setFlagDefinition('color', { state: 'ENABLED', variants: { red: 'R', green: 'G' }, defaultVariant: 'red' }),
      )
      .thenThrows('VALIDATION_FAILED', /variants\.green: the manifest declares the variants "red", "blue"/);
    expect(error.details).toMatchObject({
      problems: [
        { path: 'variants.green' },
        { path: 'variants', message: 'the manifest declares the variant "blue", the definition lacks it' },
      ],
    });
    given([published])
      .when(cmd.setFlagDefinition('color', color()))
      .then([definitionSet('color', color())]);
  });
});
