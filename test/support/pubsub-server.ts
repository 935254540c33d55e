/**
 * A loopback stand-in for Pub/Sub's Subscriber service, built from the real
 * client's own schemas (protos.json of @google-cloud/pubsub), so the real
 * `PubSub` / `Subscription` classes can pull from it: StreamingPull (the
 * stream the subscriber keeps open), Acknowledge and ModifyAckDeadline
 * (leases, and nacks: a deadline of 0 redelivers the message).
 *
 * Messages are put in with `publish()` (what the long-running service does
 * on the real topic). Deterministic: no timers, redelivery only on nack.
 */
process.env.METADATA_SERVER_DETECTION = 'none';

import { EventEmitter, once } from 'node:events';
import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { fakeAuth, type FakeAuth } from './video-server.js';

const pubsubRoot: protobuf.Root = protobuf.Root.fromJSON(
  JSON.parse(readFileSync(require.resolve('@google-cloud/pubsub/build/protos/protos.json'), 'utf8')),
);
pubsubRoot.resolveAll();

type Plain = Record<string, unknown>;

function definition(method: string, request: string, response: string, streaming: boolean): grpc.MethodDefinition<Plain, Plain> {
  const req = pubsubRoot.lookupType(`google.pubsub.v1.${request}`);
  const res = pubsubRoot.lookupType(`google.pubsub.v1.${response}`);
  return {
    path: `/google.pubsub.v1.Subscriber/${method}`,
    originalName: method,
    requestStream: streaming,
    responseStream: streaming,
    requestSerialize: (value) => Buffer.from(req.encode(req.fromObject(value)).finish()),
    requestDeserialize: (bytes) => req.toObject(req.decode(bytes), { longs: String, defaults: true }) as Plain,
    responseSerialize: (value) => Buffer.from(res.encode(res.fromObject(value)).finish()),
    responseDeserialize: (bytes) => res.toObject(res.decode(bytes), { longs: String, defaults: true }) as Plain,
  };
}

const subscriberService = {
  StreamingPull: definition('StreamingPull', 'StreamingPullRequest', 'StreamingPullResponse', true),
  Acknowledge: { ...definition('Acknowledge', 'AcknowledgeRequest', 'AcknowledgeRequest', false), responseSerialize: () => Buffer.alloc(0), responseDeserialize: () => ({}) },
  ModifyAckDeadline: { ...definition('ModifyAckDeadline', 'ModifyAckDeadlineRequest', 'ModifyAckDeadlineRequest', false), responseSerialize: () => Buffer.alloc(0), responseDeserialize: () => ({}) },
} satisfies grpc.ServiceDefinition;

/** One published message as the fake keeps it. */
interface Stored {
  messageId: string;
  data: Uint8Array;
  attributes: Record<string, string>;
  deliveryAttempt: number;
}

/** What the fake saw, in order. */
export interface PubSubCall {
  method: 'StreamingPull' | 'Acknowledge' | 'ModifyAckDeadline';
  subscription: string;
  messageIds: string[];
  seconds?: number;
}

/** A running fake Pub/Sub subscriber service on 127.0.0.1. */
export interface FakePubSub {
  /** The port it listens on. */
  readonly port: number;
  /** Every StreamingPull opened, Acknowledge and ModifyAckDeadline received. */
  readonly calls: PubSubCall[];
  /** Message ids acked / nacked (ModifyAckDeadline to 0), in order. */
  readonly acked: string[];
  readonly nacked: string[];
  /** StreamingPull calls still open. */
  openStreams(): number;
  /** Publishes a message to `subscription` (full name); returns its id. Delivered on an open stream, or when one opens. */
  publish(subscription: string, data: Uint8Array | string, attributes?: Record<string, string>): string;
  /** Resolves when message `id` is acked (or nacked). */
  settled(id: string): Promise<'ack' | 'nack'>;
  /** Options for `new PubSub(…)` that reach this server only (insecure, loopback, fake auth). */
  clientOptions(auth?: FakeAuth): Record<string, unknown>;
  close(): Promise<void>;
}

/** Options of {@link startPubSubServer}. */
export interface PubSubServerOptions {
  /** Deliver a nacked message again, as Pub/Sub does (default true). */
  redeliver?: boolean;
}

/** Starts the fake on an ephemeral 127.0.0.1 port. */
export async function startPubSubServer(options: PubSubServerOptions = {}): Promise<FakePubSub> {
  const redeliver = options.redeliver ?? true;
  const events = new EventEmitter();
  const calls: PubSubCall[] = [];
  const acked: string[] = [];
  const nacked: string[] = [];
  const streams = new Map<grpc.ServerDuplexStream<Plain, Plain>, string>();
  const pending = new Map<string, Stored[]>(); // per subscription, waiting for a stream
  const outstanding = new Map<string, { subscription: string; message: Stored }>(); // by ack id
  const results = new Map<string, 'ack' | 'nack'>();
  let nextId = 1;
  let nextAck = 1;
  let turn = 0;
  const scheduled = new Set<string>();

  const deliver = (subscription: string): void => {
    const queue = pending.get(subscription);
    if (!queue || queue.length === 0) return;
    const open = [...streams].filter(([, s]) => s === subscription).map(([call]) => call);
    if (open.length === 0) return;
    // Up to 1,000 messages per response, as Pub/Sub batches them.
    while (queue.length > 0) {
      const call = open[turn++ % open.length]!;
      const receivedMessages = queue.splice(0, 1_000).map((message) => {
        const ackId = `ack-${nextAck++}`;
        outstanding.set(ackId, { subscription, message });
        message.deliveryAttempt++;
        return {
          ackId,
          message: { data: message.data, attributes: message.attributes, messageId: message.messageId, publishTime: { seconds: 1_700_000_000, nanos: 0 } },
          deliveryAttempt: message.deliveryAttempt,
        };
      });
      call.write({ receivedMessages });
    }
  };
  const settle = (ackIds: string[], how: 'ack' | 'nack'): string[] => {
    const ids: string[] = [];
    for (const ackId of ackIds) {
      const entry = outstanding.get(ackId);
      if (!entry) continue;
      outstanding.delete(ackId);
      ids.push(entry.message.messageId);
      results.set(entry.message.messageId, how);
      (how === 'ack' ? acked : nacked).push(entry.message.messageId);
      if (how === 'nack' && redeliver) {
        // Redelivered, as Pub/Sub does when the deadline is 0.
        const queue = pending.get(entry.subscription) ?? [];
        queue.push(entry.message);
        pending.set(entry.subscription, queue);
      }
      events.emit(`settled:${entry.message.messageId}`, how);
    }
    return ids;
  };
  const modify = (subscription: string, ackIds: string[], seconds: number): void => {
    if (seconds === 0) {
      calls.push({ method: 'ModifyAckDeadline', subscription, messageIds: settle(ackIds, 'nack'), seconds });
      deliver(subscription);
    } else {
      calls.push({ method: 'ModifyAckDeadline', subscription, messageIds: ackIds.map((a) => outstanding.get(a)?.message.messageId ?? a), seconds });
    }
  };

  const server = new grpc.Server();
  server.addService(subscriberService, {
    StreamingPull: (call: grpc.ServerDuplexStream<Plain, Plain>) => {
      let subscription = '';
      call.on('data', (request: Plain) => {
        if (!subscription && typeof request.subscription === 'string' && request.subscription !== '') {
          subscription = request.subscription;
          streams.set(call, subscription);
          calls.push({ method: 'StreamingPull', subscription, messageIds: [] });
          deliver(subscription);
        }
        const ackIds = (request.ackIds as string[] | undefined) ?? [];
        if (ackIds.length > 0) calls.push({ method: 'Acknowledge', subscription, messageIds: settle(ackIds, 'ack') });
        const modifyIds = (request.modifyDeadlineAckIds as string[] | undefined) ?? [];
        const seconds = (request.modifyDeadlineSeconds as number[] | undefined) ?? [];
        modifyIds.forEach((ackId, i) => modify(subscription, [ackId], seconds[i] ?? 0));
      });
      const end = (): void => {
        streams.delete(call);
      };
      call.on('end', () => {
        end();
        call.end();
      });
      call.on('cancelled', end);
      call.on('error', end);
    },
    Acknowledge: (call: grpc.ServerUnaryCall<Plain, Plain>, callback: grpc.sendUnaryData<Plain>) => {
      const subscription = String(call.request.subscription);
      calls.push({ method: 'Acknowledge', subscription, messageIds: settle((call.request.ackIds as string[]) ?? [], 'ack') });
      callback(null, {});
    },
    ModifyAckDeadline: (call: grpc.ServerUnaryCall<Plain, Plain>, callback: grpc.sendUnaryData<Plain>) => {
      const subscription = String(call.request.subscription);
      modify(subscription, (call.request.ackIds as string[]) ?? [], Number(call.request.ackDeadlineSeconds) || 0);
      callback(null, {});
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );

  return {
    port,
    calls,
    acked,
    nacked,
    openStreams: () => streams.size,
    publish(subscription, data, attributes = {}) {
      const messageId = String(nextId++);
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      const queue = pending.get(subscription) ?? [];
      queue.push({ messageId, data: bytes, attributes, deliveryAttempt: 0 });
      pending.set(subscription, queue);
      if (!scheduled.has(subscription)) {
        // Messages published in one go are delivered together (after the current job).
        scheduled.add(subscription);
        queueMicrotask(() => {
          scheduled.delete(subscription);
          deliver(subscription);
        });
      }
      return messageId;
    },
    async settled(id) {
      const known = results.get(id);
      if (known) return known;
      const [how] = (await once(events, `settled:${id}`)) as ['ack' | 'nack'];
      return how;
    },
    clientOptions(auth: FakeAuth = fakeAuth()) {
      return {
        projectId: 'test-project',
        servicePath: '127.0.0.1',
        port,
        sslCreds: grpc.credentials.createInsecure(),
        universeDomain: 'googleapis.com',
        auth: auth as never,
      };
    },
    async close() {
      for (const call of streams.keys()) call.end();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}
