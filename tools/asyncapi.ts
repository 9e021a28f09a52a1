/**
 * Builds the AsyncAPI 3.0 description of media-foundry (docs/asyncapi.yaml)
 * from the zod schemas in `@media-foundry/shared`, so the document cannot
 * drift from the code: `npm run asyncapi` writes it (asyncapi-cli.ts), and
 * test/asyncapi.test.ts fails when the committed file differs.
 *
 * Two faces, each from the service's point of view (AsyncAPI 3 `send` /
 * `receive` are what media-foundry does; a client does the opposite):
 * - the WebSocket server: client messages are received, server messages sent;
 * - RabbitMQ: workers receive jobs and control messages and send replies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import {
  ackMessage,
  binaryHeader,
  clientMessages,
  completedMessage,
  loadGatewayConfig,
  controlMessage,
  errorMessage,
  INLINE_OUTPUT_HEADER,
  jobMessage,
  jobReply,
  jobClaimedEvent,
  progressReply,
  relayedCompletedReply,
  errorReply,
  jobsQueueArguments,
  tenantDequeuedEvent,
  tenantQueueArguments,
  MAX_BINARY_HEADER_BYTES,
  MAX_TEXT_MESSAGE_BYTES,
  pongMessage,
  uploadAckMessage,
  progressMessage,
  topology,
  type ClientMessageType,
  type ServerMessage,
} from '@media-foundry/shared';
import { ROOT } from './paths.js';

/** Where the generated document lives. */
export const ASYNCAPI_FILE = join(ROOT, 'docs', 'asyncapi.yaml');

/** JSON Schema as the document embeds it (AsyncAPI Schema is a superset of draft-07). */
export type JsonSchema = Record<string, unknown>;
type Ref = { $ref: string };

export interface AsyncApiMessage {
  name: string;
  title: string;
  summary: string;
  description?: string;
  contentType: string;
  payload: Ref | JsonSchema;
  headers?: Ref | JsonSchema;
  correlationId?: { description: string; location: string };
  bindings?: Record<string, unknown>;
  examples?: { name: string; summary?: string; headers?: Record<string, unknown>; payload: unknown }[];
}

export interface AsyncApiDocument {
  asyncapi: '3.0.0';
  info: { title: string; version: string; description: string; license: { name: string } };
  defaultContentType: string;
  servers: Record<string, Record<string, unknown>>;
  channels: Record<
    string,
    {
      address: string | null;
      title: string;
      description: string;
      servers: Ref[];
      parameters?: Record<string, { description: string; default?: string; examples?: string[] }>;
      messages: Record<string, Ref>;
      bindings?: Record<string, unknown>;
    }
  >;
  operations: Record<
    string,
    {
      action: 'send' | 'receive';
      channel: Ref;
      title: string;
      summary: string;
      description?: string;
      messages: Ref[];
      bindings?: Record<string, unknown>;
      reply?: { address: { description: string; location: string }; channel: Ref; messages: Ref[] };
    }
  >;
  components: {
    schemas: Record<string, JsonSchema>;
    messages: Record<string, AsyncApiMessage>;
    securitySchemes: Record<string, Record<string, unknown>>;
  };
}

/** The defaults of the config schema: default port numbers, queue prefix and delivery limit. */
const DEFAULTS = loadGatewayConfig({});
const PREFIX_PARAMETER = '{prefix}';
/** Names with the default prefix (bindings and examples)… */
const NAMES = topology(DEFAULTS.queuePrefix);
/** …and with the prefix as a parameter (channel addresses). */
const ADDRESSES = topology(PREFIX_PARAMETER);

const AMQP_BINDING_VERSION = '0.3.0';
const WS_BINDING_VERSION = '0.1.0';

/**
 * One zod schema as JSON Schema. Cross-field refinements (`superRefine`,
 * `refine`) cannot be expressed and are left out by zod; `unrepresentable:
 * 'any'` turns anything else it cannot express into `{}` rather than throwing
 * (the test checks nothing in the document degraded that way).
 */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output', description?: string): JsonSchema {
  const generated: JsonSchema = z.toJSONSchema(schema, { io, target: 'draft-7', unrepresentable: 'any' });
  // The dialect is the document's (AsyncAPI Schema, a draft-07 superset), not stated per schema.
  delete generated.$schema;
  return description === undefined ? generated : { description, ...generated };
}

const ref = (path: string): Ref => ({ $ref: path });
const schemaRef = (name: string) => ref(`#/components/schemas/${name}`);
const messageRef = (name: string) => ref(`#/components/messages/${name}`);
/** `start_job` → `StartJob`. */
const pascal = (type: string) => type.replace(/(?:^|_)([a-z])/g, (_, c: string) => c.toUpperCase());

// ---------------------------------------------------------------- WebSocket face

const CLIENT_DESCRIPTIONS: Record<ClientMessageType, { summary: string; description: string; example: unknown }> = {
  start_job: {
    summary: 'Submit a job.',
    description: [
      'Answered by `ack` (with the job id, generated when absent), then `progress`, and finally `completed`',
      '(followed by the output files as binary frames) or `error`.',
      'With `input.source: upload`, send the file(s) as binary frames after `ack`.',
      '',
      'Cross-field rules the schema below cannot express, checked by the gateway:',
      '`url` xor `urls`; the number of inputs each operation takes (concat 2-20, subtitles 1-2, others 1);',
      'distinct `filenames`; file names without path separators or control characters.',
    ].join('\n'),
    example: {
      type: 'start_job',
      job_id: 'clip-42',
      operation: 'thumbnail',
      input: { source: 'url', url: 'https://media.example.com/in.mp4' },
      options: { count: 3, format: 'jpeg', width: 320 },
    },
  },
  cancel_job: {
    summary: "Cancel one of this connection's jobs.",
    description:
      'Answered by `error` with `JOB_CANCELLED` once the job is stopped (before submission, while queued or while running), or `CANCEL_FAILED` when there is no such job or its results are already being sent.',
    example: { type: 'cancel_job', job_id: 'clip-42' },
  },
  resume_job: {
    summary: 'Pick a job up again from a new connection.',
    description:
      "After a disconnect, present the `resume_token` from the job's `ack` (for RESUME_TTL_SECONDS after the job ended). Answered by a `progress` with the current state, then the rest of the progress and the result (`completed` and files, or `error`); a wrong token, another client's job or an expired one is `RESUME_FAILED`.",
    example: {
      type: 'resume_job',
      job_id: 'clip-42',
      resume_token: '2b7e1516-28ae-4d2a-abf7-158809cf4f3c.Z2FiYmFnZS1mb3ItdGhlLWV4YW1wbGU',
    },
  },
  ping: {
    summary: 'Application-level keep-alive.',
    description: 'Answered by `pong`. (The server also sends WebSocket ping frames to idle clients.)',
    example: { type: 'ping' },
  },
};

const SERVER_MESSAGES = {
  ack: ackMessage,
  progress: progressMessage,
  completed: completedMessage,
  error: errorMessage,
  pong: pongMessage,
  upload_ack: uploadAckMessage,
} as const satisfies Record<ServerMessage['type'], z.ZodType>;

const SERVER_DESCRIPTIONS: Record<ServerMessage['type'], { summary: string; description: string; example: unknown }> = {
  ack: {
    summary: 'The job was accepted.',
    description:
      'For URL inputs the job is already queued; for uploads the gateway now waits for the binary frame(s). `job_id` is the id the client gave, or the one the gateway generated.',
    example: { type: 'ack', job_id: 'clip-42', message: 'Job accepted and queued' },
  },
  progress: {
    summary: 'How far a job is.',
    description: [
      '`percentage` never decreases; at most about 4 a second per job. `stage` is `queued` (published, waiting for a worker:',
      "`queue_position` is its place among its client's waiting jobs, 1 = next), `downloading`, `probing`, `processing`,",
      '`uploading`, or `retrying` (a step failed for a reason that may pass — storage or an origin unreachable — and is',
      'being tried again; `message` says why). Every retry is sent, whatever the rate.',
    ].join('\n'),
    example: {
      type: 'progress',
      job_id: 'clip-42',
      percentage: 42.5,
      stage: 'processing',
      ffmpeg_log: 'frame=120 fps=60 time=00:00:04.80 speed=2.4x',
    },
  },
  completed: {
    summary: 'The job finished; its files follow.',
    description:
      'Always sent before the files: each entry of `outputs` then arrives as one binary output frame, in this order. `output_metadata` describes the first output (`null` where a field does not apply).',
    example: {
      type: 'completed',
      job_id: 'clip-42',
      output_metadata: {
        format: 'image2',
        duration: null,
        size_bytes: 10423,
        video_codec: 'mjpeg',
        audio_codec: null,
        width: 320,
        height: 180,
        bitrate: null,
        fps: null,
      },
      outputs: [{ filename: 'thumbnail_001.jpeg', size_bytes: 10423, content_type: 'image/jpeg' }],
      delivery_method: 'binary',
      message: 'Job completed successfully',
    },
  },
  error: {
    summary: 'A message or a job failed.',
    description:
      '`job_id` is null when the offending message had none (e.g. `INVALID_JSON`). A job error ends the job. `details` names each bad field for `VALIDATION_ERROR`.',
    example: {
      type: 'error',
      job_id: 'clip-42',
      code: 'VALIDATION_ERROR',
      message: 'Message validation failed',
      details: 'options.count: Too big: expected number to be <=20',
    },
  },
  pong: { summary: 'Answer to `ping`.', description: 'Carries nothing else.', example: { type: 'pong' } },
  upload_ack: {
    summary: 'Flow control of a chunked upload.',
    description:
      'How many bytes of `filename` the gateway has taken. A client sending chunks (`offset`, `final` in the frame header) may be at most UPLOAD_WINDOW_BYTES (default 8 MiB) ahead of the last `received_bytes`; a client that overruns the window gets `BINARY_ERROR` and the upload is aborted.',
    example: { type: 'upload_ack', job_id: 'clip-42', filename: 'in.mp4', received_bytes: 8388608 },
  },
};

const BINARY_LAYOUT = [
  'One WebSocket binary message: `[u32 BE header length][header JSON][bytes]` —',
  'a 4-byte big-endian unsigned length, that many bytes of UTF-8 JSON header',
  `(at most ${MAX_BINARY_HEADER_BYTES} bytes; schema \`BinaryHeader\`, documented here as the message headers),`,
  'then the file bytes up to the end of the message.',
].join('\n');

/** A JSON text message of the WebSocket face, from its entry in CLIENT_DESCRIPTIONS or SERVER_DESCRIPTIONS. */
function jsonMessage(
  type: string,
  d: { summary: string; example: unknown },
  description: string,
  correlationId?: AsyncApiMessage['correlationId'],
): AsyncApiMessage {
  return {
    name: type,
    title: pascal(type),
    summary: d.summary,
    description,
    contentType: 'application/json',
    payload: schemaRef(pascal(type)),
    ...(correlationId ? { correlationId } : {}),
    examples: [{ name: type, payload: d.example }],
  };
}

/** A binary frame of the WebSocket face: BINARY_LAYOUT, then `lines` on what the frame carries. */
function binaryFrame(name: string, title: string, summary: string, lines: string[]): AsyncApiMessage {
  return {
    name,
    title,
    summary,
    description: [BINARY_LAYOUT, '', ...lines].join('\n'),
    contentType: 'application/octet-stream',
    headers: schemaRef('BinaryHeader'),
    payload: { type: 'string', format: 'binary', description: 'The whole frame: header length, header JSON, file bytes.' },
  };
}

function webSocketMessages(): { client: Record<string, AsyncApiMessage>; server: Record<string, AsyncApiMessage> } {
  const client: Record<string, AsyncApiMessage> = {};
  for (const type of Object.keys(clientMessages) as ClientMessageType[]) {
    const d = CLIENT_DESCRIPTIONS[type];
    client[type] = jsonMessage(
      type,
      d,
      `${d.description}\n\nA JSON text frame of at most WS_MAX_TEXT_SIZE bytes (default ${MAX_TEXT_MESSAGE_BYTES}).`,
    );
  }
  client.upload_frame = binaryFrame('upload_frame', 'Upload (binary frame)', 'An input file for a job with `input.source: upload`.', [
    'Sent after `ack`: one frame for a single upload (any `filename`), or one frame per name of',
    '`input.filenames`, in any order. The whole frame is at most `WS_MAX_SIZE` bytes and the file at',
    'most `MAX_FILE_SIZE_MB` MiB. A bad frame is answered with `error` `INVALID_BINARY` or `BINARY_ERROR`.',
  ]);

  const server: Record<string, AsyncApiMessage> = {};
  for (const type of Object.keys(SERVER_MESSAGES) as ServerMessage['type'][]) {
    const d = SERVER_DESCRIPTIONS[type];
    const aboutJob = { description: 'The job the message is about.', location: '$message.payload#/job_id' };
    server[type] = jsonMessage(type, d, d.description, type === 'pong' ? undefined : aboutJob);
  }
  server.output_frame = binaryFrame('output_frame', 'Output file (binary frame)', 'One output file of a completed job.', [
    'Sent after `completed`, one frame per entry of its `outputs`, in that order; `job_id` is the',
    "client's job id and `filename` the entry's name — for `hls`/`dash` a relative path such as",
    '`720p/seg_003.ts` (segments of `[A-Za-z0-9._-]`, never `.` or `..`): save the file there to rebuild the tree.',
  ]);
  return { client, server };
}

// ---------------------------------------------------------------- AMQP face

/** AMQP basic properties a job is published with (not application headers: AMQP 0-9-1 properties). */
const JOB_PROPERTIES: JsonSchema = {
  type: 'object',
  description:
    'AMQP 0-9-1 message properties (not entries of the `headers` table) the publisher sets. The worker replies to `reply_to`; without it the job still runs but nobody hears about it.',
  properties: {
    reply_to: { type: 'string', description: 'Queue the worker publishes every reply to (a queue of the publisher).' },
    correlation_id: { type: 'string', description: 'The job_id; replies carry it too.' },
    content_type: { type: 'string', const: 'application/json' },
    delivery_mode: { type: 'integer', const: 2, description: 'Persistent.' },
    headers: {
      type: 'object',
      description: 'The headers table, every entry optional.',
      properties: {
        traceparent: { type: 'string', description: "W3C trace context: the worker's logs of the job carry its trace id." },
        [INLINE_OUTPUT_HEADER]: {
          type: 'boolean',
          description:
            'true (gateways with SMALL_OUTPUTS_IN_RESULT set it): the publisher reads a lone output of 256 KiB or less from the completed on the reply exchange (`inline`), so the worker keeps it only in result.json; ignored with reply_to or a webhook.',
        },
      },
    },
  },
  required: ['correlation_id', 'content_type'],
};

const REPLY_PROPERTIES: JsonSchema = {
  type: 'object',
  description: 'AMQP 0-9-1 message properties of a reply.',
  properties: {
    correlation_id: { type: 'string', description: "The job's job_id." },
    content_type: { type: 'string', const: 'application/json' },
  },
  required: ['correlation_id', 'content_type'],
};

/** What tells one AMQP message of the document from another (amqpMessage adds the rest). */
interface AmqpMessageDescription {
  title: string;
  summary: string;
  description: string[];
  /** Its AMQP properties, where the publisher sets any: the correlation id is then the job id. */
  properties?: JsonSchema;
  /** Its body's schema, in `components.schemas`. */
  schema: string;
  examples: NonNullable<AsyncApiMessage['examples']>;
}

const AMQP_DESCRIPTIONS: Record<string, AmqpMessageDescription> = {
  job: {
    title: 'Job',
    summary: 'A job for the workers.',
    description: [
      'Published to the default exchange with routing key = the jobs (intake) queue name; a worker moves it on to',
      "its tenant's queue (`tenant`, default `shared`): tenants' jobs are started in turn. `job_id` must be unique",
      'across all publishers; outputs are stored under `jobs/<job_id>/`. Not shown by the schema: the number',
      'of `inputs` each operation takes (concat 2-20, subtitles 1-2, others 1). A body that does not validate',
      'is answered (if it has `reply_to`) with an `error` reply `VALIDATION_ERROR` and dropped.',
    ],
    properties: JOB_PROPERTIES,
    schema: 'JobMessage',
    examples: [
      {
        name: 'thumbnail',
        headers: { reply_to: 'backend.replies', correlation_id: 'backend-7f3c1e', content_type: 'application/json', delivery_mode: 2 },
        payload: {
          job_id: 'backend-7f3c1e',
          tenant: 'acme',
          operation: 'thumbnail',
          options: { count: 3, format: 'jpeg', width: 320 },
          inputs: [{ source: 'url', url: 'https://media.example.com/in.mp4' }],
          delivery_method: 'binary',
          submitted_at: '2026-11-25T12:00:00Z',
        },
      },
    ],
  },
  job_reply: {
    title: 'Job reply',
    summary: 'Progress of a job, and finally its result.',
    description: [
      'Any number of `progress` replies (`stage` downloading → probing → processing → uploading, never',
      'going backwards, at most 4 a second), then exactly one `completed` or `error`. The worker acks the job',
      'only after the final reply is confirmed, so a job whose worker died is redelivered and its progress',
      'may restart. Outputs wait in storage under each `key`; delete `jobs/<job_id>/` once you have them.',
      'The final reply is also stored (`jobs/<job_id>/result.json`) before it is published; a final reply may',
      'arrive twice if a worker died between publishing it and acking the job: key on `job_id`.',
    ],
    properties: REPLY_PROPERTIES,
    schema: 'JobReply',
    examples: [
      {
        name: 'progress',
        payload: { type: 'progress', job_id: 'backend-7f3c1e', percentage: 42.5, stage: 'processing' },
      },
      {
        name: 'error',
        payload: { type: 'error', job_id: 'backend-7f3c1e', code: 'JOB_FAILED', message: 'Input has no audio stream' },
      },
    ],
  },
  exchange_reply: {
    title: 'Job reply on the reply exchange',
    summary: 'A job reply as the reply exchange carries it: a completed one may bring its output along.',
    description: [
      'The same replies as on a `reply_to` queue, with one addition: a `completed` whose job made exactly one output of',
      '256 KiB or less, delivered as binary, carries it as `inline` (storage key → the file, base64), so the gateway',
      'sends it without reading storage. `reply_to` queues never carry `inline`. The file is in storage under its key',
      'as well, unless the job message had the `inline-output` header (gateways with SMALL_OUTPUTS_IN_RESULT set it) and no `reply_to` or webhook: then',
      'it is kept only in the `result.json` that any gateway resumes the job from. A backend that binds its own queue',
      'here may ignore the field.',
    ],
    properties: REPLY_PROPERTIES,
    schema: 'ExchangeReply',
    examples: [
      {
        name: 'completed, output inline',
        payload: {
          type: 'completed',
          job_id: 'backend-7f3c1e',
          output_metadata: {
            format: 'png',
            duration: null,
            size_bytes: 94,
            video_codec: 'png',
            audio_codec: null,
            width: 4,
            height: 4,
            bitrate: null,
            fps: null,
          },
          outputs: [
            {
              filename: 'thumbnail.png',
              size_bytes: 94,
              content_type: 'image/png',
              key: 'jobs/backend-7f3c1e/output/thumbnail.png',
            },
          ],
          inline: {
            'jobs/backend-7f3c1e/output/thumbnail.png':
              'iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAACXBIWXMAAAABAAAAAQBPJcTWAAAAEElEQVR4nGP4y8AARwzEcQCrMw/RBpGVewAAAABJRU5ErkJggg==',
          },
        },
      },
    ],
  },
  control: {
    title: 'Control',
    summary: 'A broadcast to every worker.',
    description: [
      '`cancel`: whichever worker runs the job stops it and replies `error` `JOB_CANCELLED`. The gateway also leaves a',
      'marker in storage (`jobs/<job_id>/cancelled`) so a job still queued never starts; a backend cancelling its own',
      'job should do both. `tenant_ready` (gateways and workers, after publishing into a tenant queue) wakes idle',
      'workers. `worker_state` (workers, on every change and every 5 s) tells the others what a worker has taken:',
      "they count each client's jobs against MAX_JOBS_PER_CLIENT and admit held ones in the same order. `job_finished`",
      '(workers, once a final answer is published): a copy of the job delivered again is settled without running.',
    ],
    schema: 'ControlMessage',
    examples: [
      { name: 'cancel', payload: { type: 'cancel', job_id: 'backend-7f3c1e' } },
      { name: 'tenant_ready', payload: { type: 'tenant_ready', tenant_key: '9f86d081884c7d65' } },
      {
        name: 'worker_state',
        payload: {
          type: 'worker_state',
          worker_id: 'worker-1a2b3c4d',
          running: [{ job_id: 'backend-7f3c1e', tenant_key: '9f86d081884c7d65', since: 1795660000000, held: false }],
          stopping: false,
        },
      },
      { name: 'job_finished', payload: { type: 'job_finished', worker_id: 'worker-1a2b3c4d', job_id: 'backend-7f3c1e' } },
    ],
  },
  gateway_notice: {
    title: 'Gateway notice',
    summary: 'Between gateways, on the reply exchange.',
    description: [
      '`claimed` (routing key: the job id): a connection on `gateway_id` resumed the job; other gateways following it',
      "stop. `dequeued` (routing key: `@tenant.<tenant_key>`): one of the tenant's jobs left its queue, so its waiting",
      'jobs move up one place.',
    ],
    schema: 'GatewayNotice',
    examples: [
      { name: 'claimed', payload: { type: 'claimed', job_id: 'backend-7f3c1e', gateway_id: '5e2a91c0', connection_id: '0c1d2e3f4a5b' } },
      { name: 'dequeued', payload: { type: 'dequeued', tenant_key: '9f86d081884c7d65', job_id: 'backend-7f3c1e' } },
    ],
  },
};

/** An AMQP message of the document: a JSON body, its properties as headers, the AMQP binding. */
function amqpMessage(name: string, d: AmqpMessageDescription): AsyncApiMessage {
  return {
    name,
    title: d.title,
    summary: d.summary,
    description: d.description.join('\n'),
    contentType: 'application/json',
    ...(d.properties ? { headers: d.properties } : {}),
    payload: schemaRef(d.schema),
    ...(d.properties ? { correlationId: { description: 'Equals the job_id.', location: '$message.header#/correlation_id' } } : {}),
    bindings: { amqp: { messageType: name, bindingVersion: AMQP_BINDING_VERSION } },
    examples: d.examples,
  };
}

function amqpMessages(): Record<string, AsyncApiMessage> {
  return Object.fromEntries(Object.entries(AMQP_DESCRIPTIONS).map(([name, d]) => [name, amqpMessage(name, d)]));
}

// ---------------------------------------------------------------- the document

type Channel = AsyncApiDocument['channels'][string];
type Operation = AsyncApiDocument['operations'][string];

const inChannel = (channel: string, names: string[]) => names.map((n) => ref(`#/channels/${channel}/messages/${n}`));
const channelMessages = (names: string[]) => Object.fromEntries(names.map((n) => [n, messageRef(n)]));

const PREFIX_PARAMETERS = {
  prefix: {
    description: 'QUEUE_PREFIX: the prefix of every exchange and queue name.',
    default: DEFAULTS.queuePrefix,
    examples: [DEFAULTS.queuePrefix],
  },
};

/**
 * A channel on RabbitMQ: an exchange or a queue, named with QUEUE_PREFIX
 * (the `prefix` parameter, before any of `parameters`), or one the
 * publisher names (`address: null`).
 */
function amqpChannel(c: {
  address: string | null;
  title: string;
  description: string | string[];
  parameters?: Channel['parameters'];
  messages: string[];
  bindings?: Record<string, unknown>;
}): Channel {
  return {
    address: c.address,
    title: c.title,
    description: typeof c.description === 'string' ? c.description : c.description.join('\n'),
    servers: [ref('#/servers/rabbitmq')],
    ...(c.address === null ? {} : { parameters: { ...PREFIX_PARAMETERS, ...c.parameters } }),
    messages: channelMessages(c.messages),
    ...(c.bindings ? { bindings: c.bindings } : {}),
  };
}

/** The AMQP binding of a durable queue (with its `x-arguments`, where it is declared with any). */
function queueBindings(name: string, xArguments?: Record<string, unknown>): Record<string, unknown> {
  return {
    amqp: {
      is: 'queue',
      queue: { name, durable: true, exclusive: false, autoDelete: false, vhost: '/' },
      ...(xArguments ? { 'x-arguments': xArguments } : {}),
      bindingVersion: AMQP_BINDING_VERSION,
    },
  };
}

/** The AMQP binding of a durable exchange. */
function exchangeBindings(name: string, type: 'direct' | 'fanout'): Record<string, unknown> {
  return {
    amqp: {
      is: 'routingKey',
      exchange: { name, type, durable: true, autoDelete: false, vhost: '/' },
      bindingVersion: AMQP_BINDING_VERSION,
    },
  };
}

/** An operation on `channel` with some of its messages; `amqp.ack` for a consumer on RabbitMQ (whether it acks). */
function operation(
  action: Operation['action'],
  channel: string,
  text: Pick<Operation, 'title' | 'summary' | 'description'>,
  messages: string[],
  amqp?: { ack: boolean; reply?: Operation['reply'] },
): Operation {
  return {
    action,
    channel: ref(`#/channels/${channel}`),
    ...text,
    messages: inChannel(channel, messages),
    ...(amqp ? { bindings: { amqp: { ack: amqp.ack, bindingVersion: AMQP_BINDING_VERSION } } } : {}),
    ...(amqp?.reply ? { reply: amqp.reply } : {}),
  };
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/** The AsyncAPI 3.0 document, built from the zod schemas. */
export function buildAsyncApi(): AsyncApiDocument {
  const ws = webSocketMessages();
  const amqp = amqpMessages();

  const schemas: Record<string, JsonSchema> = {};
  for (const [type, schema] of Object.entries(clientMessages) as [string, z.ZodType][]) schemas[pascal(type)] = jsonSchema(schema, 'input');
  for (const [type, schema] of Object.entries(SERVER_MESSAGES) as [string, z.ZodType][])
    schemas[pascal(type)] = jsonSchema(schema, 'output');
  schemas.BinaryHeader = jsonSchema(binaryHeader, 'input', 'The JSON header inside a binary frame (both directions).');
  // A publisher's view of the job: what the worker accepts (defaults optional).
  schemas.JobMessage = jsonSchema(jobMessage, 'input');
  schemas.JobReply = jsonSchema(jobReply, 'output');
  schemas.ExchangeReply = jsonSchema(z.discriminatedUnion('type', [progressReply, relayedCompletedReply, errorReply]), 'output');
  schemas.ControlMessage = jsonSchema(controlMessage, 'input');
  schemas.GatewayNotice = jsonSchema(z.discriminatedUnion('type', [jobClaimedEvent, tenantDequeuedEvent]), 'input');

  const jobsArguments = jobsQueueArguments(NAMES, DEFAULTS.jobDeliveryLimit);
  const tenantArguments = tenantQueueArguments(NAMES, DEFAULTS.jobDeliveryLimit, DEFAULTS.tenantQueueIdleMs);

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'media-foundry',
      version: packageVersion(),
      description: [
        'WebSocket media processing: clients send jobs to the gateway over a WebSocket; FFmpeg workers take',
        'them from RabbitMQ; results come back as binary frames on the same socket. Backends may also publish',
        'jobs straight to RabbitMQ (docs/AMQP.md).',
        '',
        'Actions are from the point of view of media-foundry: it `receive`s what clients send and `send`s',
        'what they receive.',
        '',
        'GENERATED from the zod schemas in shared/src by tools/asyncapi.ts: run `npm run asyncapi`.',
      ].join('\n'),
      license: { name: 'MIT' },
    },
    defaultContentType: 'application/json',
    servers: {
      websocket: {
        host: `{host}:${DEFAULTS.wsPort}`,
        protocol: 'ws',
        title: 'Gateway WebSocket server',
        description: [
          `The gateway (WS_PORT, default ${DEFAULTS.wsPort}). Plain ws: terminate TLS (wss) in front of it (docs/DEPLOYMENT.md).`,
          'With API_KEYS or JWT_SECRET set, the upgrade request must present a key or token (else HTTP 401);',
          'with neither, the gateway is open. With ALLOWED_ORIGINS set, browsers from other origins get HTTP 403.',
        ].join('\n'),
        variables: { host: { default: 'localhost', description: 'Host name of the gateway (or of the proxy in front of it).' } },
        security: [ref('#/components/securitySchemes/bearerToken'), ref('#/components/securitySchemes/queryToken')],
      },
      rabbitmq: {
        host: '{host}:5672',
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        title: 'RabbitMQ',
        description: 'The broker of AMQP_URL (amqp:// or amqps://). The jobs queue is a quorum queue: RabbitMQ 3.8 or later.',
        variables: { host: { default: 'localhost', description: 'Host name of the broker.' } },
        security: [ref('#/components/securitySchemes/amqpCredentials')],
      },
    },
    channels: {
      websocket: {
        address: '/',
        title: 'Client connection',
        description: [
          'One WebSocket connection (any path). Text frames carry JSON messages discriminated by `type`;',
          'binary frames carry files. A connection may run many jobs at once; each is identified by `job_id`.',
          `Idle connections are pinged after WS_PING_INTERVAL seconds and closed after WS_PING_INTERVAL +`,
          'WS_PING_TIMEOUT seconds of silence. On shutdown the gateway closes sockets with code 1001.',
          'Messages beyond WS_MAX_MESSAGES_PER_SECOND are dropped and answered with `error` `RATE_LIMITED`;',
          'a client that keeps flooding is closed with code 1008.',
        ].join('\n'),
        servers: [ref('#/servers/websocket')],
        messages: channelMessages([...Object.keys(ws.client), ...Object.keys(ws.server)]),
        bindings: { ws: { method: 'GET', bindingVersion: WS_BINDING_VERSION } },
      },
      jobs: amqpChannel({
        address: ADDRESSES.jobsQueue,
        title: 'Jobs queue (intake)',
        description: [
          "Durable quorum queue backends publish to. Every worker consumes it and moves each job on to its tenant's queue",
          '(publisher-confirmed, then acked); the gateway publishes WebSocket jobs straight to the tenant queues.',
          `Arguments (\`x-arguments\` below, JOB_DELIVERY_LIMIT defaults to ${DEFAULTS.jobDeliveryLimit}): declare it with exactly`,
          'these or not at all (the services declare it at start-up); a different declaration fails with',
          `PRECONDITION_FAILED. After too many deliveries a job is dead-lettered to \`${ADDRESSES.deadLetterQueue}\`.`,
        ],
        messages: ['job'],
        bindings: queueBindings(NAMES.jobsQueue, jobsArguments),
      }),
      tenantJobs: amqpChannel({
        address: ADDRESSES.tenantQueue('{tenantKey}'),
        title: "A tenant's queue",
        description: [
          "One durable quorum queue per tenant (16 hex digits of the SHA-256 of the tenant's name), created on demand and",
          'removed by RabbitMQ after TENANT_QUEUE_IDLE_SECONDS without a worker taking from it (`x-expires`; workers take from it at every turn of its tenant).',
          'Workers take jobs from the tenants with waiting jobs in turn (basic.get, one job per free slot, weighted by',
          'TENANT_WEIGHTS), each running at most MAX_JOBS_PER_CLIENT jobs of one tenant across all workers.',
          `Dead-lettered to \`${ADDRESSES.deadLetterQueue}\` after JOB_DELIVERY_LIMIT returns. Sum these queues and the intake for the backlog.`,
        ],
        parameters: { tenantKey: { description: "16 hex digits of the SHA-256 of the tenant's name.", examples: ['9f86d081884c7d65'] } },
        messages: ['job'],
        bindings: queueBindings(NAMES.tenantQueue('{tenantKey}'), tenantArguments),
      }),
      replyExchange: amqpChannel({
        address: ADDRESSES.replyExchange,
        title: 'Reply exchange',
        description: [
          'Durable direct exchange. Workers publish every reply here with the job id as routing key (as well as to',
          '`reply_to`, when the job named one). Gateways bind their exclusive queue with the ids of the jobs their clients',
          'follow — whichever gateway a client is connected to receives its replies — and exchange notices here too.',
          'A backend may bind a queue of its own with its job ids instead of setting `reply_to`.',
        ],
        messages: ['exchange_reply', 'gateway_notice'],
        bindings: exchangeBindings(NAMES.replyExchange, 'direct'),
      }),
      replies: amqpChannel({
        address: null,
        title: 'Reply queue',
        description: [
          "The queue a job's `reply_to` names, chosen by the publisher (optional). Every reply is also published to the",
          `direct exchange \`${ADDRESSES.replyExchange}\` with the job id as routing key: bind a queue of your own with your job ids to`,
          `receive them there. Gateways do: one exclusive queue each, \`${ADDRESSES.gatewayReplyQueue('{gateway}')}\`, bound to the ids of the jobs their clients follow.`,
        ],
        messages: ['job_reply'],
      }),
      control: amqpChannel({
        address: ADDRESSES.controlExchange,
        title: 'Control exchange',
        description:
          'Durable fanout exchange. Every worker binds a private, exclusive, auto-deleted queue to it, so every worker hears every message.',
        messages: ['control'],
        bindings: exchangeBindings(NAMES.controlExchange, 'fanout'),
      }),
      deadJobs: amqpChannel({
        address: ADDRESSES.deadLetterQueue,
        title: 'Dead-lettered jobs',
        description: `Durable queue bound to the direct exchange \`${ADDRESSES.deadLetterExchange}\`: jobs that used up JOB_DELIVERY_LIMIT deliveries without an ack (workers that died on them or were stopped mid-job), kept for inspection. Nothing consumes it.`,
        messages: ['job'],
        bindings: queueBindings(NAMES.deadLetterQueue),
      }),
    },
    operations: {
      receiveClientMessages: operation(
        'receive',
        'websocket',
        { title: 'Receive client messages', summary: 'What a client sends: JSON control messages and upload frames.' },
        Object.keys(ws.client),
      ),
      sendServerMessages: operation(
        'send',
        'websocket',
        { title: 'Send server messages', summary: 'What a client receives: acks, progress, results and their files, errors, pongs.' },
        Object.keys(ws.server),
      ),
      routeJob: operation(
        'receive',
        'jobs',
        { title: 'Route a job', summary: "A worker moves a job from the intake queue to its tenant's queue." },
        ['job'],
        { ack: true },
      ),
      receiveJob: operation(
        'receive',
        'tenantJobs',
        {
          title: 'Run a job',
          summary: "A worker takes the next tenant's next job, runs it and replies.",
          description:
            'The gateway publishes here (persistent, publisher-confirmed) for WebSocket jobs. Acked only after the final reply is stored and confirmed; requeued when the worker shuts down mid-job or a transient failure outlasts the retries.',
        },
        ['job'],
        {
          ack: true,
          reply: {
            address: { description: "The job's `reply_to` property.", location: '$message.header#/reply_to' },
            channel: ref('#/channels/replies'),
            messages: inChannel('replies', ['job_reply']),
          },
        },
      ),
      publishReply: operation(
        'send',
        'replyExchange',
        { title: 'Reply to whoever follows the job', summary: "Every reply, keyed by job id; and the gateways' notices." },
        ['exchange_reply', 'gateway_notice'],
      ),
      sendReply: operation(
        'send',
        'replies',
        { title: 'Reply', summary: 'A worker reports progress and the result of a job (publisher-confirmed).' },
        ['job_reply'],
      ),
      receiveControl: operation(
        'receive',
        'control',
        {
          title: 'Receive control messages',
          summary: "Every worker hears cancellations, announcements of waiting jobs and the other workers' states.",
        },
        ['control'],
        { ack: false },
      ),
    },
    components: {
      schemas,
      messages: { ...ws.client, ...ws.server, ...amqp },
      securitySchemes: {
        bearerToken: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key of API_KEYS, or an HS256 JWT signed with JWT_SECRET (its `sub` identifies the client; it must carry an `exp`), as `Authorization: Bearer <token>` on the upgrade request.',
        },
        queryToken: {
          type: 'httpApiKey',
          name: 'token',
          in: 'query',
          description: 'The same key or token as `?token=<token>`, for browsers (which cannot set headers on a WebSocket).',
        },
        amqpCredentials: { type: 'userPassword', description: 'User name and password of AMQP_URL.' },
      },
    },
  };
}

/** The document as written to docs/asyncapi.yaml. */
export function renderAsyncApi(doc: AsyncApiDocument = buildAsyncApi()): string {
  const header = [
    '# GENERATED by tools/asyncapi.ts from the zod schemas in shared/src. Do not edit:',
    '# change the schemas (or the generator), then run `npm run asyncapi`.',
  ].join('\n');
  return `${header}\n${stringify(doc, { aliasDuplicateObjects: false, lineWidth: 0 })}`;
}
