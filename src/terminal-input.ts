// One line from a terminal, echoed or not (a password): a login prompt, or
// passwd() in a session. On a TTY the terminal is put in raw mode and the
// keys handled here (Backspace, Ctrl-U, Ctrl-C, Ctrl-D), so a hidden line is
// never shown nor kept in any history; elsewhere (a pipe) a line is read as is.

export interface LineInput extends NodeJS.ReadableStream {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
}

/** What ended a read: a line, Ctrl-C (cancelled), or the end of input (Ctrl-D on an empty line, a closed pipe). */
export type ReadResult = { line: string } | { cancelled: true } | { ended: true };

const MAX_LINE = 1024;

export function readLine(input: LineInput, output: NodeJS.WritableStream, prompt: string, { hidden = false } = {}): Promise<ReadResult> {
  output.write(prompt);
  const raw = Boolean(input.isTTY && input.setRawMode);
  const wasRaw = Boolean(input.isRaw); // a REPL on the same terminal keeps its mode…
  const wasFlowing = (input as NodeJS.ReadableStream & { readableFlowing?: boolean | null }).readableFlowing === true; // …and its input
  if (raw) input.setRawMode!(true);
  let line = '';
  return new Promise((resolve) => {
    const finish = (result: ReadResult, echo: string) => {
      input.off('data', onData);
      input.off('end', onEnd);
      if (raw) input.setRawMode!(wasRaw);
      if (!wasFlowing) input.pause(); // what is typed next waits for the next reader
      output.write(echo);
      resolve(result);
    };
    const onEnd = () => finish({ ended: true }, '\r\n');
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n') return finish({ line }, '\r\n');
        if (!raw) line += char;
        else if (char === '\x03') return finish({ cancelled: true }, '^C\r\n');
        else if (char === '\x04') {
          if (!line) return finish({ ended: true }, '\r\n');
        } else if (char === '\x7f' || char === '\b') {
          if (line && !hidden) output.write('\b \b');
          line = [...line].slice(0, -1).join('');
        } else if (char === '\x15') {
          if (!hidden) output.write('\b \b'.repeat([...line].length));
          line = '';
        } else if (char >= ' ' && line.length < MAX_LINE) {
          line += char;
          if (!hidden) output.write(char);
        }
      }
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}
