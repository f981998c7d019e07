import type { Checkpoints, LeaderLease, Lease } from '@strata/core';
import { expect, it } from 'vitest';

/** Candidates that contend on one backend, and a way to cut one off from it. */
export interface LeaderLeaseBackend<Candidate extends LeaderLease = LeaderLease> extends AsyncDisposable {
  /** A new candidate with its own session, as another process would have. */
  candidate(): Candidate;
  /** Ends the candidate's session from outside, as a dropped connection or a killed backend would. */
  sever(candidate: Candidate): Promise<void>;
  /** The backend's plain checkpoints, where the leases' fenced checkpoints write. */
  checkpoints: Checkpoints;
}

let run = 0;
const leaseName = () => `contract:${process.pid}:${(run += 1)}`;

const within = <T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> =>
  Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);

/**
 * Behaviour every `LeaderLease` must have, run against each implementation (in-memory in a unit
 * spec, PostgreSQL advisory locks in an int spec). Each test gets a fresh backend from `create`.
 */
export const leaderLeaseContract = <Candidate extends LeaderLease>(
  create: () => Promise<LeaderLeaseBackend<Candidate>>,
) => {
  it('gives a name to one candidate at a time; after a release the other takes it at once', async () => {
    await using backend = await create();
    const [a, b] = [backend.candidate(), backend.candidate()];
    const name = leaseName();
    const lease = await a.tryAcquire(name);
    expect(lease?.held).toBe(true);
    expect(lease?.name).toBe(name);
    expect(await b.tryAcquire(name)).toBeUndefined();
    expect(await b.tryAcquire(name)).toBeUndefined();
    expect(await lease!.renew()).toBe(true);

    await lease!.release();
    expect(lease!.held).toBe(false);
    expect(await lease!.renew()).toBe(false);
    // A release is not a loss.
    expect(await within(lease!.lost, 200)).toBe('pending');
    const next = await b.tryAcquire(name);
    expect(next?.held).toBe(true);
    expect(await a.tryAcquire(name)).toBeUndefined();
    await next!.release();
  });

  it('keeps names apart and holds one lease per candidate', async () => {
    await using backend = await create();
    const [a, b] = [backend.candidate(), backend.candidate()];
    const [x, y] = [leaseName(), leaseName()];
    const onX = await a.tryAcquire(x);
    const onY = await b.tryAcquire(y);
    expect([onX?.held, onY?.held]).toEqual([true, true]);
    await expect(a.tryAcquire(y)).rejects.toThrow(/already holds/);
    await onX!.release();
    await onY!.release();
  });

  it('loses the lease with its session: lost resolves, held turns false, another candidate takes over', async () => {
    await using backend = await create();
    const [a, b] = [backend.candidate(), backend.candidate()];
    const name = leaseName();
    const lease = (await a.tryAcquire(name))!;
    await backend.sever(a);
    const loss = await lease.lost;
    expect(loss.reason).toEqual(expect.any(String));
    expect(lease.held).toBe(false);
    expect(await lease.renew()).toBe(false);
    const successor = await b.tryAcquire(name);
    expect(successor?.held).toBe(true);

    // The old holder gives up what is left and competes again as a standby.
    await lease.release();
    expect(await a.tryAcquire(name)).toBeUndefined();
    await successor!.release();
    const again = await a.tryAcquire(name);
    expect(again?.held).toBe(true);
    await again!.release();
  });

  it('fences its checkpoints: a save after the session is gone fails, noticed or not', async () => {
    await using backend = await create();
    const [a, b] = [backend.candidate(), backend.candidate()];
    const name = leaseName();
    const consumer = `${name}:consumer`;
    const lease = (await a.tryAcquire(name))!;
    await lease.checkpoints.save(consumer, 10);
    expect(await backend.checkpoints.load(consumer)).toBe(10);
    expect(await lease.checkpoints.load(consumer)).toBe(10);

    await backend.sever(a);
    // Right away, before the holder may have noticed: the backend refuses the write.
    await expect(lease.checkpoints.save(consumer, 20)).rejects.toThrow();
    await lease.lost;
    await expect(lease.checkpoints.save(consumer, 30)).rejects.toThrow();
    expect(await backend.checkpoints.load(consumer)).toBe(10);

    const successor = (await b.tryAcquire(name))!;
    expect(await successor.checkpoints.load(consumer)).toBe(10);
    await successor.checkpoints.save(consumer, 11);
    expect(await backend.checkpoints.load(consumer)).toBe(11);
    await lease.release();
    await successor.release();
    await expect(successor.checkpoints.save(consumer, 12)).rejects.toThrow(/not held/);
  });

  it('renews while held and reports every lease it hands out as held until released', async () => {
    await using backend = await create();
    const a = backend.candidate();
    const leases: Lease[] = [];
    for (let round = 0; round < 3; round += 1) {
      const lease = (await a.tryAcquire(leaseName()))!;
      leases.push(lease);
      expect(await lease.renew()).toBe(true);
      await lease.release();
    }
    expect(leases.map((lease) => lease.held)).toEqual([false, false, false]);
  });
};
