import { createRequire } from 'node:module';

/**
 * kafkajs 2.2.4 answers a lost broker connection with a consumer "crash" and restart, and the
 * restart builds a new ConsumerGroup without the member id it had. When the broker comes back it
 * reloads the group with the old member in it, and a join under a new id makes the coordinator
 * wait for that ghost until its session times out (30 s by default): views stood still that long
 * after every outage. The Java client keeps its member id across reconnects; this does the same
 * for kafkajs: a restarted ConsumerGroup of the same kafkajs consumer (same instrumentation
 * emitter) joins with the id its predecessor had. If the coordinator no longer knows that id,
 * kafkajs's joinAndSync already answers UNKNOWN_MEMBER_ID by clearing it and joining afresh.
 *
 * It patches a kafkajs internal, so it checks what it patches and does nothing if the shape
 * changed (the cost is then only the slower recovery); kafkajs is pinned in package.json.
 */
interface ConsumerGroupInternals {
  memberId: string | null;
  instrumentationEmitter: object;
  joinAndSync(): Promise<void>;
}

const patched = Symbol.for('strata.kafkajs.keepMemberId');

export const keepMemberIdAcrossRestarts = (): boolean => {
  const require = createRequire(import.meta.url);
  let ConsumerGroup: { prototype: ConsumerGroupInternals & { [patched]?: true } } | undefined;
  try {
    ConsumerGroup = require('kafkajs/src/consumer/consumerGroup.js') as typeof ConsumerGroup;
  } catch {
    return false;
  }
  const proto = ConsumerGroup?.prototype;
  if (!proto || typeof proto.joinAndSync !== 'function') return false;
  if (proto[patched]) return true;
  const lastMemberId = new WeakMap<object, string>();
  const joinAndSync = proto.joinAndSync;
  proto.joinAndSync = async function (this: ConsumerGroupInternals) {
    const emitter = this.instrumentationEmitter;
    if (!this.memberId && emitter) this.memberId = lastMemberId.get(emitter) ?? null;
    await joinAndSync.call(this);
    if (this.memberId && emitter) lastMemberId.set(emitter, this.memberId);
  };
  proto[patched] = true;
  return true;
};
