/**
 * What the administrator's commands (client:*, partner:*) share: the refusal they print without
 * a stack, their input and output, and the parsing of `<action> --flag value …` against the
 * flags each action allows.
 */

/** A command that cannot run as asked; its message is one sentence, shown without a stack. */
export class CommandRefused extends Error {
  override name = 'CommandRefused';
}

export interface CommandIo {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Standard output: what a script captures (a client_id). */
  readonly out?: (text: string) => void;
  /** Standard error: what a person reads. */
  readonly err?: (text: string) => void;
}

/** The action and its flags (`--name value` or `--name=value`, each once); refused with `usage` otherwise. */
export function parseCommand(argv: readonly string[], flagsByAction: Readonly<Record<string, readonly string[]>>, usage: string): { action: string; flags: Map<string, string> } {
  const [action, ...rest] = argv;
  const allowed = action === undefined ? undefined : flagsByAction[action];
  if (action === undefined || allowed === undefined) throw new CommandRefused(usage);
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    const name = match?.[1];
    if (match === null || name === undefined || !allowed.includes(name)) throw new CommandRefused(`unknown argument ${arg}. ${usage}`);
    const value = match[2] ?? rest[++i];
    if (value === undefined || flags.has(name)) throw new CommandRefused(`--${name} needs one value. ${usage}`);
    flags.set(name, value);
  }
  return { action, flags };
}

/** The command's standard output and error, as given or the process's own. */
export function commandStreams(io: CommandIo): { out: (text: string) => void; err: (text: string) => void } {
  return {
    out: io.out ?? ((text: string) => process.stdout.write(text)),
    err: io.err ?? ((text: string) => process.stderr.write(text)),
  };
}
