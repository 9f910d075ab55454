/**
 * A tiny Redis client speaking RESP2 over `node:net`, for the side-by-side benchmark only (the
 * project has no Redis dependency and adds none). Replies are matched to commands in order;
 * `command` sends one command and awaits its reply, `pipeline` sends many at once.
 */
import { connect, type Socket } from 'node:net';

export type Reply = string | number | null | Reply[];

export class RedisError extends Error {
  override readonly name = 'RedisError';
}

interface Pending {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

export class RespClient {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.failAll(error));
    socket.on('close', () => this.failAll(new RedisError('connection closed')));
  }

  /** Connects to Redis; rejects after `timeoutMs` when nothing answers. */
  static open(host: string, port: number, timeoutMs = 1000): Promise<RespClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RedisError(`no answer from ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.once('connect', () => {
        clearTimeout(timer);
        resolve(new RespClient(socket));
      });
    });
  }

  /** Sends one command and resolves with its reply. */
  command(...args: string[]): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.socket.write(encode(args));
    });
  }

  /** Sends every command in one write and resolves with the replies, in order. */
  pipeline(commands: string[][]): Promise<Reply[]> {
    const replies = commands.map(
      (_, i) =>
        new Promise<Reply>((resolve, reject) => {
          this.pending.push({ resolve, reject });
          if (i === commands.length - 1) {
            this.socket.write(Buffer.concat(commands.map(encode)));
          }
        }),
    );
    return Promise.all(replies);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.end(() => resolve());
    });
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const parsed = parseReply(this.buffer, 0);
      if (parsed === undefined) {
        return;
      }
      this.buffer = this.buffer.subarray(parsed.end);
      const waiter = this.pending.shift();
      if (parsed.reply instanceof RedisError) {
        waiter?.reject(parsed.reply);
      } else {
        waiter?.resolve(parsed.reply);
      }
    }
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.splice(0)) {
      waiter.reject(error);
    }
  }
}

function encode(args: string[]): Buffer {
  let out = `*${args.length}\r\n`;
  for (const arg of args) {
    out += `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`;
  }
  return Buffer.from(out);
}

/** Parses one reply starting at `at`, or `undefined` when the buffer does not hold all of it. */
function parseReply(
  buffer: Buffer,
  at: number,
): { reply: Reply | RedisError; end: number } | undefined {
  const lineEnd = buffer.indexOf('\r\n', at);
  if (lineEnd < 0) {
    return undefined;
  }
  const line = buffer.toString('utf8', at + 1, lineEnd);
  const next = lineEnd + 2;
  switch (String.fromCharCode(buffer[at]!)) {
    case '+':
      return { reply: line, end: next };
    case '-':
      return { reply: new RedisError(line), end: next };
    case ':':
      return { reply: Number(line), end: next };
    case '$': {
      const length = Number(line);
      if (length < 0) {
        return { reply: null, end: next };
      }
      if (buffer.length < next + length + 2) {
        return undefined;
      }
      return { reply: buffer.toString('utf8', next, next + length), end: next + length + 2 };
    }
    case '*': {
      const count = Number(line);
      if (count < 0) {
        return { reply: null, end: next };
      }
      const items: Reply[] = [];
      let end = next;
      for (let i = 0; i < count; i += 1) {
        const item = parseReply(buffer, end);
        if (item === undefined) {
          return undefined;
        }
        if (item.reply instanceof RedisError) {
          return item;
        }
        items.push(item.reply);
        end = item.end;
      }
      return { reply: items, end };
    }
    default:
      throw new RedisError(`unexpected RESP type byte ${buffer[at]}`);
  }
}
