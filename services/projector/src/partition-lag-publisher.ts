import type { PartitionLag } from '@strata/kafka-bus';
import type { LagReporter, PartitionLagSink, PartitionOffsets } from '@strata/core';
import type { Logger } from '@strata/service-runtime';

/**
 * Publishes this member's lag per owned partition into Redis for the API's status (and the
 * console's System view). Reports are coalesced: at most one write is in flight, and whatever
 * arrives meanwhile (a report after every handled batch, the broker's answer every interval) is
 * merged by partition and written next, so a busy projector costs Redis one small write per round
 * trip, not one per batch. A failing write is logged once per run of failures; the next report
 * tries again, and until then readers see the entries age into `stale`.
 */
export class PartitionLagPublisher {
  readonly #sink: PartitionLagSink;
  readonly #reporter: LagReporter;
  readonly #logger: Logger;
  readonly #pending = new Map<number, PartitionOffsets>();
  readonly #seen = new Map<number, PartitionOffsets>();
  #writing: Promise<void> | null = null;
  #failing = false;
  #closed = false;

  constructor(sink: PartitionLagSink, reporter: LagReporter, logger: Logger) {
    this.#sink = sink;
    this.#reporter = reporter;
    this.#logger = logger;
  }

  /**
   * Queues reports and writes them soon. Both offsets only grow while this process runs (a group's
   * offsets can be reset only while all its members are stopped), so each is merged by maximum: a
   * broker answer that was asked before a batch was handled, but arrives after that batch's own report,
   * cannot make the partition look behind again.
   */
  report(lags: readonly PartitionLag[]): void {
    if (this.#closed) return;
    for (const { partition, committed, highWatermark } of lags) {
      const seen = this.#seen.get(partition);
      const merged = {
        partition,
        committed: Math.max(committed, seen?.committed ?? 0),
        highWatermark: Math.max(highWatermark, seen?.highWatermark ?? 0),
      };
      this.#seen.set(partition, merged);
      this.#pending.set(partition, merged);
    }
    this.#kick();
  }

  /** Takes no more reports and resolves once the queued ones are written (call it before Redis closes). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#writing;
  }

  #kick(): void {
    if (this.#writing) return;
    this.#writing = this.#drain().finally(() => {
      this.#writing = null;
      // Reports that came in as the last write finished; after a failure, the next report retries.
      if (this.#pending.size > 0 && !this.#failing) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) {
      const batch = [...this.#pending.values()];
      this.#pending.clear();
      try {
        await this.#sink.publishPartitionLag(this.#reporter, batch);
        if (this.#failing) this.#logger.log('info', 'partition lag published again');
        this.#failing = false;
      } catch (error) {
        if (!this.#failing)
          this.#logger.log('warn', 'publishing partition lag failed; it shows as stale until a report gets through', {
            error: error instanceof Error ? error.message : String(error),
          });
        this.#failing = true;
        return;
      }
    }
  }
}
