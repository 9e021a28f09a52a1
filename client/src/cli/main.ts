/**
 * `media-foundry <operation> <input…> [--option value …] [-o DIR]`: one job
 * from the terminal. Operations, their flags and their help come from the
 * shared schemas. Exit codes: 0 done, 2 usage (bad flags, options the
 * schema refuses, unreadable inputs), 3 the job failed, 4 no connection,
 * 130 cancelled with Ctrl-C (the job is cancelled on the server first).
 */
import { Command, CommanderError, Option } from 'commander';
import { type OperationName, OPERATION_NAMES } from '@media-foundry/shared';
import { requestProblem } from '../client.js';
import { ClientErrorCode, MediaFoundryError } from '../errors.js';
import { describeField, operationFields, type OptionField, parseFieldValue } from '../fields.js';
import type { JobInputSpec } from '../inputs.js';
import { MediaFoundry } from '../node.js';
import { barReporter, jsonReporter, lineReporter, type Reporter } from './reporter.js';

export const ExitCode = { OK: 0, USAGE: 2, JOB_FAILED: 3, CONNECTION: 4, INTERRUPTED: 130 } as const;

interface CommonFlags {
  server: string;
  apiKey?: string;
  output: string;
  url: string[];
  json?: boolean;
  links?: boolean;
}

const flagName = (field: OptionField) => field.name.replace(/_/g, '-');

function usage(message: string): never {
  throw new CommanderError(ExitCode.USAGE, 'media-foundry.usage', `error: ${message}`);
}

function exitCodeFor(error: MediaFoundryError): number {
  if (error.code === ClientErrorCode.CONNECTION_FAILED || error.code === ClientErrorCode.CONNECTION_LOST) return ExitCode.CONNECTION;
  if (error.code === ClientErrorCode.INPUT_ERROR || error.code === 'VALIDATION_ERROR') return ExitCode.USAGE;
  return ExitCode.JOB_FAILED;
}

async function runJob(
  operation: OperationName,
  inputs: string[],
  flags: CommonFlags & Record<string, unknown>,
  fields: OptionField[],
): Promise<number> {
  if (inputs.length > 0 && flags.url.length > 0) usage('give input files or --url, not both');
  if (inputs.length === 0 && flags.url.length === 0) usage(`${operation} needs an input file or --url`);
  const options: Record<string, unknown> = {};
  for (const field of fields) {
    const value = flags[new Option(`--${flagName(field)} <v>`).attributeName()];
    if (value !== undefined) options[field.name] = typeof value === 'string' ? parseFieldValue(field, value) : value;
  }
  const delivery = flags.links ? 'url' : 'binary';
  const input: JobInputSpec = inputs.length > 0 ? { files: inputs } : { urls: flags.url };
  const problem = requestProblem(operation, inputs.length > 0 ? { files: inputs.length } : { urls: flags.url }, options, delivery);
  if (problem) usage(problem);

  const out = process.stdout;
  const reporter: Reporter = flags.json
    ? jsonReporter(out)
    : process.stderr.isTTY
      ? barReporter(process.stderr)
      : lineReporter(process.stderr);
  let mf: MediaFoundry;
  try {
    mf = await MediaFoundry.connect(flags.server, flags.apiKey ? { apiKey: flags.apiKey } : {});
  } catch (err) {
    return fail(err, reporter, flags.json);
  }
  const job = mf.run(operation, input, options as never, {
    delivery,
    ...(operation === 'probe' || delivery === 'url' ? {} : { saveTo: flags.output }),
  });
  let interrupted = false;
  const onSigint = () => {
    // a second Ctrl-C does not wait for the server
    if (interrupted) process.exit(ExitCode.INTERRUPTED);
    interrupted = true;
    process.stderr.write('\ncancelling the job on the server (Ctrl-C again to quit at once)\n');
    job.cancel();
  };
  process.on('SIGINT', onSigint);
  try {
    for await (const event of job) reporter.event(event);
    reporter.stop();
    const outputs = await job.result();
    if (operation === 'probe') {
      const metadata = await job.metadata();
      out.write(flags.json ? `${JSON.stringify({ type: 'metadata', metadata })}\n` : `${JSON.stringify(metadata, null, 2)}\n`);
    } else if (!flags.json) for (const o of outputs) out.write(`${o.path ?? o.url ?? o.filename}\n`);
    return ExitCode.OK;
  } catch (err) {
    if (interrupted && err instanceof MediaFoundryError && err.code === 'JOB_CANCELLED') {
      reporter.stop();
      process.stderr.write('cancelled\n');
      return ExitCode.INTERRUPTED;
    }
    return fail(err, reporter, flags.json);
  } finally {
    process.off('SIGINT', onSigint);
    await mf.close();
  }
}

function fail(err: unknown, reporter: Reporter, json: boolean | undefined): number {
  reporter.stop();
  const error =
    err instanceof MediaFoundryError
      ? err
      : new MediaFoundryError('INTERNAL_ERROR', 'Unexpected failure', { details: String(err), cause: err });
  if (json) reporter.event({ type: 'failed', error });
  process.stderr.write(`media-foundry: ${error.code}: ${error.message}${error.details ? ` (${error.details})` : ''}\n`);
  return exitCodeFor(error);
}

/** The program: one subcommand per operation of the shared schemas. */
export function buildProgram(onExit: (code: number) => void): Command {
  const program = new Command('media-foundry')
    .description('Process media with a media-foundry server: uploads the inputs, shows progress, saves the outputs.')
    .usage('<operation> <input…> [--option value …] [-o DIR]')
    .exitOverride()
    .showHelpAfterError('(--help lists the operations and their options)');
  const list = OPERATION_NAMES.map((op) => {
    const fields = operationFields(op);
    const flags = fields.map((f) => `--${flagName(f)}`).join(' ');
    return `  ${op.padEnd(14)}${flags || '(no options)'}`;
  });
  program.addHelpText(
    'after',
    [
      '',
      'Operations and their options (`media-foundry <operation> --help` gives ranges and defaults):',
      ...list,
      '',
      'Environment: MEDIA_FOUNDRY_URL (--server), MEDIA_FOUNDRY_API_KEY (--api-key).',
      'Exit codes: 0 done, 2 usage, 3 job failed, 4 connection, 130 cancelled (Ctrl-C).',
    ].join('\n'),
  );
  for (const operation of OPERATION_NAMES) {
    const fields = operationFields(operation);
    const command = program
      .command(operation)
      .description(`run ${operation} on the inputs`)
      .argument('[inputs...]', 'input files (or give --url)')
      .exitOverride();
    for (const field of fields) {
      const option =
        field.kind === 'boolean'
          ? new Option(`--${flagName(field)} [true|false]`, describeField(field))
          : new Option(`--${flagName(field)} <${field.kind === 'json' ? 'json' : 'value'}>`, describeField(field));
      command.addOption(option);
    }
    command
      .addOption(
        new Option('--url <url>', 'an input URL the server fetches (repeat for several)')
          .argParser((v, prev: string[] = []) => [...prev, v])
          .default([]),
      )
      .addOption(new Option('-o, --output <dir>', 'directory for the outputs').default('.'))
      .addOption(new Option('--server <url>', 'gateway WebSocket URL').env('MEDIA_FOUNDRY_URL').default('ws://localhost:8080'))
      .addOption(new Option('--api-key <key>', 'API key').env('MEDIA_FOUNDRY_API_KEY'))
      .option('--links', 'deliver download links instead of files')
      .option('--json', 'one JSON object per event on stdout')
      .action(async (inputs: string[], flags: CommonFlags & Record<string, unknown>) =>
        onExit(await runJob(operation, inputs, flags, fields)),
      );
  }
  return program;
}

async function main(): Promise<void> {
  // `media-foundry --help | head`: a reader that goes away is not an error
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  const program = buildProgram((code) => (process.exitCode = code));
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'media-foundry.usage') process.stderr.write(`media-foundry: ${err.message}\n`);
      process.exitCode = err.exitCode === 0 ? 0 : ExitCode.USAGE;
      return;
    }
    process.stderr.write(`media-foundry: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  }
}

await main();
