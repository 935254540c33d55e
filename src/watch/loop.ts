/**
 * The watch loop of one operation, as a small record driven by callbacks: it
 * advances the operation until it is done, by WaitOperation where the
 * transport has it and GetOperation polling otherwise. While it sleeps it is
 * one entry in the clock's timer queue; its calls go through the transport's
 * {@link Engine} (probe, call bound, paced cancels). It knows nothing of
 * events or decoding: it hands each answer to a {@link WatchTarget}.
 * @module
 */
import { PollingLimitError, RpcError, isRpcCode } from '../errors.js';
import { debugLog } from '../telemetry/log.js';
import { startWaitSpan, type TraceContext, type WaitSpan } from '../telemetry/tracing.js';
import { Code, codeName, type OperationsTransport } from '../types.js';
import type { Clock } from './clock.js';
import { engineFor, type CallRequest, type Engine, type PendingCall, type RpcMethod } from './engine.js';
import { backoffCap, type PollingPolicy, type RetryPolicy } from './policy.js';
import { ProgressEstimate } from './progress.js';
import { isRetryable, retryAfterFailure } from './retry.js';
import { sleepOn, timersOf, type TimerEntry, type TimerHandler, type TimerQueue } from './timers.js';

/** Key of {@link WatchTarget}'s answer handler (symbol keys: the operation object itself is the target, with no closures per run). */
export const APPLY: unique symbol = Symbol('longrunning.watch.apply');
/** Key of {@link WatchTarget}'s progress switch. */
export const WANTS_PROGRESS: unique symbol = Symbol('longrunning.watch.wantsProgress');
/** Key of {@link WatchTarget}'s latest decoded metadata. */
export const METADATA: unique symbol = Symbol('longrunning.watch.metadata');
/** Key of {@link WatchTarget}'s progress reading. */
export const PROGRESS: unique symbol = Symbol('longrunning.watch.progress');
/** Key of {@link WatchTarget}'s source of the progress reading. */
export const PROGRESS_SOURCE: unique symbol = Symbol('longrunning.watch.progressSource');
/** Key of {@link WatchTarget}'s retry notice. */
export const ON_RETRY: unique symbol = Symbol('longrunning.watch.onRetry');
/** Key of {@link WatchTarget}'s end notice. */
export const ON_END: unique symbol = Symbol('longrunning.watch.onEnd');

/** What the loop advances. */
export interface WatchTarget {
  /** Operation name sent with every call (the latest one the server returned). */
  readonly name: string;
  /** Takes one server answer; returns true when the operation is done. Throws to end the loop. */
  [APPLY](resource: unknown): boolean;
  /** True while someone wants progress, which caps each WaitOperation at the progress interval. */
  [WANTS_PROGRESS](): boolean;
  /** The latest decoded metadata (for the user's `polling.nextDelay`). */
  [METADATA](): unknown;
  /** Progress the latest metadata reports, in percent (progress-aware polling reads it). */
  [PROGRESS](): number | undefined;
  /** What the latest progress was read from: the same object until the metadata changes. */
  [PROGRESS_SOURCE](): unknown;
  /** Called before each retry of a failed call. */
  [ON_RETRY](error: RpcError, info: { method: string; attempt: number; delayMs: number }): void;
  /** Called once when the run ended by itself: done (no error) or failed; never after {@link Watch.stop}. */
  [ON_END](watch: Watch, error?: unknown): void;
}

/** The loop's settings, all validated. */
export interface WatchConfig {
  transport: OperationsTransport;
  clock: Clock;
  polling: PollingPolicy;
  retry: RetryPolicy;
  waitOperation: 'auto' | 'never';
  /** Timeout sent with each WaitOperation when nobody wants progress. */
  waitTimeoutMs: number;
  /** Timeout sent with each WaitOperation while someone wants progress. */
  progressIntervalMs: number;
  /** Deadline of each GetOperation call. */
  rpcTimeoutMs: number;
  /** How much longer than its `timeout` a WaitOperation call may take before its deadline. */
  waitGraceMs: (timeoutMs: number) => number;
}


/** Timeout of the WaitOperation that probes a fresh transport: short, so others learn the answer soon. */
export const PROBE_TIMEOUT_MS = 250;

/** A WaitOperation shorter than this share of its timeout counts as an early return. */
const EARLY_RETURN_SHARE = 0.5;

const pollRetries = new WeakMap<RetryPolicy, RetryPolicy>();

/** The retry policy of GetOperation polls: the configured one plus DEADLINE_EXCEEDED (computed once per policy). */
function pollRetryPolicy(retry: RetryPolicy): RetryPolicy {
  let policy = pollRetries.get(retry);
  if (!policy) {
    policy = Object.freeze({ ...retry, codes: new Set([...retry.codes, Code.DEADLINE_EXCEEDED]) });
    pollRetries.set(retry, policy);
  }
  return policy;
}

/** True once WaitOperation answered UNIMPLEMENTED on this transport (or it has none). */
export function waitOperationUnavailable(transport: OperationsTransport, clock: Clock): boolean {
  return engineFor(transport, clock).waitSupport === 'no';
}

type Phase = 'idle' | 'sleeping' | 'calling' | 'retrying' | 'parked' | 'ended';

/**
 * `pollImmediately`: the state the target holds is unknown or stale (built
 * from a name or a token, or restarted): poll at once instead of after the
 * first delay, and when someone wants progress make the first call a GetOperation.
 */

/**
 * One run of the loop. `start()` once; `stop()` ends it without calling
 * `onEnd` (nothing of it is left afterwards: no timer, no call); `wake()` cuts
 * a sleep short so it polls now.
 */
export class Watch implements TimerHandler, TimerEntry, CallRequest {
  private phase: Phase = 'idle';
  /** What the armed timer does: poll, or decide again (after an early-returned WaitOperation). */
  private pollOnTimer = false;
  private readonly engine: Engine;
  private readonly timers: TimerQueue;
  // The loop is its own entry in the timer queue while it sleeps (TimerEntry): nothing is allocated per sleep.
  /** When the sleep ends (clock ms). */
  due = 0;
  /** Position in the timer queue's heap, -1 while not asleep. */
  index = -1;
  /** Order of scheduling (entries due together fire first-in first-out). */
  seq = 0;
  /** What the timer queue calls: this loop's `onTimer()`. */
  readonly fire: TimerHandler = this;
  private call?: PendingCall;
  private unpark?: () => void;
  private retrying?: AbortController;
  /** Index into the backoff schedule. */
  private attempt = 0;
  private polls = 0;
  /** Tracing on: the `longrunning.wait` span of this run. */
  private span?: WaitSpan;
  private readonly startedAt: number;
  /** The next call is a GetOperation even in WaitOperation mode. */
  private forceGet: boolean;
  private delayNextPoll: boolean;
  private probing = false;
  private estimate?: ProgressEstimate;
  private fromEstimate = false;
  private estimateMisses = 0;
  private estimatedFrom?: unknown;
  /** The call in flight (or being retried) is a WaitOperation, else a GetOperation. */
  private callIsWait = false;
  /** Deadline of the call in flight. */
  timeoutMs = 0;
  /** Of the WaitOperation in flight: the timeout it sends, and when it was sent. */
  private waitTimeoutMs = 0;
  private waitSentAt = 0;

  constructor(
    private readonly target: WatchTarget,
    private readonly config: WatchConfig,
    private readonly pollImmediately: boolean,
  ) {
    this.engine = engineFor(config.transport, config.clock);
    this.timers = timersOf(config.clock);
    this.startedAt = config.clock.now();
    this.delayNextPoll = !pollImmediately;
    this.forceGet = false;
  }

  /** The armed sleep ended. */
  onTimer(): void {
    this.phase = 'idle';
    if (this.pollOnTimer) this.pollNow();
    else this.step();
  }

  /**
   * Starts the loop. `traceParent` (tracing on) is the OpenTelemetry context
   * the run's `longrunning.wait` span is a child of: where the wait was asked for.
   */
  start(traceParent?: TraceContext): void {
    // Progress at once: with a stale or unknown state, someone watching
    // progress sees it after one GetOperation, not after a WaitOperation's timeout.
    this.forceGet = this.pollImmediately && this.target[WANTS_PROGRESS]() && this.config.waitOperation === 'auto';
    this.span = startWaitSpan(this.target.name, traceParent);
    // A fresh state (what the start call returned) is the progress estimate's first reading.
    if (!this.pollImmediately && this.config.polling.followProgress) this.observeProgress();
    this.step();
  }

  /**
   * Ends the loop now; `onEnd` is not called. `outcome` (default `'stopped'`:
   * no waiter left) and `error` say why, for the wait span: the operation may
   * have ended through another path (a notification, `poll()`).
   */
  stop(outcome: 'done' | 'failed' | 'stopped' = 'stopped', error?: unknown): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.cleanup();
    this.endSpan(outcome, error);
  }

  /** Ends the wait span (tracing on). */
  private endSpan(outcome: 'done' | 'failed' | 'stopped', error?: unknown): void {
    const span = this.span;
    if (!span) return;
    this.span = undefined;
    span.end(outcome, this.polls, error);
  }

  /** While sleeping, polls now and starts the schedule over (after cancel()). */
  wake(): void {
    if (this.phase !== 'sleeping') return;
    this.timers.cancel(this);
    this.attempt = 0;
    this.delayNextPoll = false;
    this.phase = 'idle';
    this.step();
  }

  private cleanup(): void {
    this.timers.cancel(this);
    this.call?.abort();
    this.call = undefined;
    this.unpark?.();
    this.unpark = undefined;
    this.retrying?.abort();
    this.retrying = undefined;
    if (this.probing) {
      this.probing = false;
      this.engine.endProbe('unknown');
    }
  }

  private end(error?: unknown): void {
    if (this.phase === 'ended') return;
    this.phase = 'ended';
    this.cleanup();
    this.endSpan(error === undefined ? 'done' : 'failed', error);
    this.target[ON_END](this, error);
  }

  /** Decides the next move: WaitOperation, a poll (now or after a delay), or waiting for the probe. */
  private step(): void {
    if (this.phase === 'ended') return;
    try {
      const mode = this.mode();
      if (mode === 'wait') this.waitOnce();
      else if (mode === 'park') this.park();
      else if (this.delayNextPoll) this.sleep(this.nextPollDelay(), true);
      else this.pollNow();
    } catch (err) {
      this.end(err); // a polling hook that threw, or a transport that threw synchronously
    }
  }

  private mode(): 'wait' | 'poll' | 'park' {
    if (this.config.waitOperation === 'never' || this.forceGet) return 'poll';
    switch (this.engine.waitSupport) {
      case 'no':
        return 'poll';
      case 'yes':
        return this.engine.canWait() ? 'wait' : 'poll';
      case 'probing':
        return 'park';
      case 'unknown':
        this.probing = this.engine.startProbe();
        return this.probing ? 'wait' : 'poll';
    }
  }

  private park(): void {
    this.phase = 'parked';
    this.unpark = this.engine.park((verdict) => {
      this.unpark = undefined;
      if (this.phase !== 'parked') return;
      this.phase = 'idle';
      // The probe got no answer: this operation polls once (which has a retry budget) instead of probing again.
      if (verdict === 'unknown') this.forceGet = true;
      this.step();
    });
  }

  private sleep(ms: number, thenPoll: boolean): void {
    this.span?.sleep(ms);
    const log = debugLog();
    if (log) {
      const next = thenPoll ? 'GetOperation' : 'the next call';
      log('DEBUG', `${this.target.name}: sleep ${Math.round(ms)} ms before ${next}`, { event: 'sleep', operation: this.target.name, delayMs: Math.round(ms), next });
    }
    this.phase = 'sleeping';
    this.pollOnTimer = thenPoll;
    this.timers.scheduleEntry(this, ms);
  }

  // ---- WaitOperation ----

  private waitOnce(): void {
    const { config, target } = this;
    const wanted = target[WANTS_PROGRESS]() ? Math.min(config.waitTimeoutMs, config.progressIntervalMs) : config.waitTimeoutMs;
    const timeoutMs = this.probing ? Math.min(wanted, PROBE_TIMEOUT_MS) : wanted;
    if (this.span) this.span.waits++;
    this.waitTimeoutMs = timeoutMs;
    this.waitSentAt = config.clock.now();
    this.issue(true, timeoutMs + config.waitGraceMs(timeoutMs));
  }

  private onWaitAnswer(ok: boolean, value: unknown, timeoutMs: number, started: number): void {
    if (this.probing) {
      this.probing = false;
      this.engine.endProbe(ok ? 'yes' : isRpcCode(value, Code.UNIMPLEMENTED) ? 'no' : 'unknown');
    }
    if (!ok) {
      if (isRpcCode(value, Code.UNIMPLEMENTED)) {
        this.engine.markNoWait();
        this.step(); // poll on the usual schedule: after the first delay for a fresh resource, at once for a name
      } else if (isRpcCode(value, Code.DEADLINE_EXCEEDED)) {
        // Not done yet, as far as anyone knows; but a server that never
        // answers must not keep us here forever: the next call is a
        // GetOperation, whose deadlines count against the retry budget.
        this.forceGet = true;
        this.delayNextPoll = false;
        this.step();
      } else {
        this.end(value);
      }
      return;
    }
    if (this.applyAnswer(value)) return;
    if (this.config.clock.now() - started < timeoutMs * EARLY_RETURN_SHARE) {
      this.sleep(this.backoffDelay(), false);
    } else {
      this.attempt = 0;
      this.step();
    }
  }

  // ---- GetOperation ----

  private pollNow(): void {
    const { polling } = this.config;
    if (this.polls >= polling.maxPolls) {
      this.end(new PollingLimitError(this.target.name, 'maxPolls', polling.maxPolls, this.polls));
      return;
    }
    if (this.config.clock.now() - this.startedAt > polling.maxPollingMs) {
      this.end(new PollingLimitError(this.target.name, 'maxPollingMs', polling.maxPollingMs, this.polls));
      return;
    }
    this.polls++;
    this.delayNextPoll = true;
    this.issue(false, this.config.rpcTimeoutMs);
  }

  private onPollAnswer(ok: boolean, value: unknown): void {
    this.forceGet = false;
    if (!ok) this.end(value);
    else if (!this.applyAnswer(value)) this.step();
  }

  /** The delay before the next poll: the backoff, replaced by the progress estimate (see ProgressEstimate), then the user's hook, within maxPollingMs. */
  private nextPollDelay(): number {
    const { polling, clock } = this.config;
    let delay = this.backoffDelay();
    // The last poll came at an estimate and the operation was not done: the
    // estimate was early, so each miss doubles the margin (no cluster of polls near the end).
    if (this.fromEstimate) this.estimateMisses++;
    this.fromEstimate = false;
    if (polling.followProgress && this.estimate) {
      const estimated = this.estimate.delayUntilDone(clock.now(), this.estimateMisses);
      if (estimated?.trusted) {
        // Linear so far: the estimate decides, also past the backoff (within its reach).
        delay = estimated.delayMs;
        this.fromEstimate = true;
      } else if (estimated !== undefined && estimated.delayMs < delay) {
        delay = Math.max(estimated.delayMs, Math.min(delay, polling.initialDelayMs));
        this.fromEstimate = true;
      }
    }
    if (polling.nextDelay) {
      const chosen = polling.nextDelay(
        { name: this.target.name, done: false, metadata: this.target[METADATA](), polls: this.polls, elapsedMs: clock.now() - this.startedAt },
        delay,
      );
      if (chosen !== undefined) {
        if (typeof chosen !== 'number' || !Number.isFinite(chosen) || chosen < 0) {
          throw new TypeError(`longrunning: polling.nextDelay returned ${String(chosen)}; it must return a finite number >= 0 or undefined`);
        }
        delay = chosen;
      }
    }
    if (polling.maxPollingMs !== Infinity) {
      // The last poll is at the limit; after it, the wait ends.
      const left = this.startedAt + polling.maxPollingMs - clock.now();
      if (left <= 0) throw new PollingLimitError(this.target.name, 'maxPollingMs', polling.maxPollingMs, this.polls);
      delay = Math.min(delay, left);
    }
    return delay;
  }

  private backoffDelay(): number {
    const { polling, clock } = this.config;
    const cap = Math.round(backoffCap(polling, this.attempt));
    if (cap < polling.maxDelayMs) this.attempt++;
    return polling.jitter ? Math.floor(clock.random() * cap) : cap;
  }

  // ---- calls and answers ----

  /** Hands an answer to the target; true when the loop has ended (done, or the answer was refused). */
  private applyAnswer(value: unknown): boolean {
    let done: boolean;
    try {
      done = this.target[APPLY](value);
    } catch (err) {
      this.end(err);
      return true;
    }
    if (done) {
      this.end();
      return true;
    }
    if (this.config.polling.followProgress) this.observeProgress();
    return false;
  }

  private observeProgress(): void {
    const source = this.target[PROGRESS_SOURCE]();
    // The metadata is the same object while its bytes stay the same: read it once.
    if (source === undefined || source === this.estimatedFrom) return;
    this.estimatedFrom = source;
    const percent = this.target[PROGRESS]();
    if (percent === undefined) return;
    (this.estimate ??= new ProgressEstimate()).observe(this.config.clock.now(), percent);
  }

  // ---- the call in flight: the Watch is its own CallRequest (no objects or closures per call) ----

  /** Of the call in flight. */
  get method(): RpcMethod {
    return this.callIsWait ? 'WaitOperation' : 'GetOperation';
  }
  /** Of the call in flight: the operation's latest name. */
  get name(): string {
    return this.target.name;
  }
  /** The wait span (tracing on): the parent of the call's span. */
  get parent(): TraceContext | undefined {
    return this.span?.context;
  }

  /** Sends the call in flight (the engine calls this, also for each retry). */
  run(signal: AbortSignal, timeoutMs: number): Promise<unknown> {
    const { transport } = this.config;
    const name = this.target.name;
    return this.callIsWait ? transport.waitOperation!(name, this.waitTimeoutMs, { signal, timeoutMs }) : transport.getOperation(name, { signal, timeoutMs });
  }

  /** Makes one call through the engine: a WaitOperation (held open: a wait slot) or a GetOperation. */
  private issue(isWait: boolean, timeoutMs: number): void {
    this.callIsWait = isWait;
    this.timeoutMs = timeoutMs;
    this.phase = 'calling';
    this.call = this.engine.call(this, isWait);
  }

  /** The engine's answer to the call in flight; a retryable failure goes on to p-retry. */
  done(ok: boolean, value: unknown): void {
    this.call = undefined;
    if (this.phase === 'ended') return;
    this.phase = 'idle';
    if (ok) return this.answered(true, value);
    if (this.probing && !isRpcCode(value, Code.UNIMPLEMENTED)) {
      // No verdict from this probe: let others go on (they poll once) while this one retries or decides.
      this.probing = false;
      this.engine.endProbe('unknown');
    }
    const retry = this.callIsWait ? this.config.retry : pollRetryPolicy(this.config.retry);
    if (retry.retries === 0 || !isRetryable(value, retry)) this.answered(false, value);
    else this.retry(value, retry);
  }

  /** The final outcome of the call (the answer, or the error that ended the retries). */
  private answered(ok: boolean, value: unknown): void {
    if (this.callIsWait) this.onWaitAnswer(ok, value, this.waitTimeoutMs, this.waitSentAt);
    else this.onPollAnswer(ok, value);
  }

  private retry(error: RpcError, retry: RetryPolicy): void {
    this.phase = 'retrying';
    const controller = new AbortController();
    this.retrying = controller;
    const { clock } = this.config;
    const method = this.method;
    const request = { method, name: this.target.name, timeoutMs: this.timeoutMs, run: (signal: AbortSignal, t: number) => this.run(signal, t), parent: this.span?.context };
    retryAfterFailure(error, () => this.engine.callPromise(request, controller.signal, this.callIsWait), {
      retry,
      random: () => clock.random(),
      sleep: (ms, signal) => sleepOn(this.timers, ms, signal),
      signal: controller.signal,
      onRetry: (err, attempt, delayMs) => this.retried(err, { method, attempt, delayMs }),
    }).then(
      (value) => this.afterRetry(controller, true, value),
      (err: unknown) => this.afterRetry(controller, false, err),
    );
  }

  /** Before each retry: counts it, records it (span event, log line), tells the target. */
  private retried(error: RpcError, info: { method: string; attempt: number; delayMs: number }): void {
    this.span?.retry(error, info);
    const log = debugLog();
    if (log) {
      const name = this.target.name;
      log('WARNING', `${info.method} ${name}: retry ${info.attempt} in ${Math.round(info.delayMs)} ms after ${codeName(error.code)}: ${error.rawMessage}`, {
        event: 'retry',
        method: info.method,
        operation: name,
        attempt: info.attempt,
        delayMs: Math.round(info.delayMs),
        code: error.code,
      });
    }
    this.target[ON_RETRY](error, info);
  }

  private afterRetry(controller: AbortController, ok: boolean, value: unknown): void {
    if (controller.signal.aborted || this.phase === 'ended') return;
    this.retrying = undefined;
    this.phase = 'idle';
    this.answered(ok, value);
  }
}
