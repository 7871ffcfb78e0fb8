/**
 * What the hosts of a shared queue say to carry `output$` values (src/streams/output-
 * forwarders.ts on the host that runs a task, ./remote-outputs.ts on the host that reads
 * it), as text for an OutputLink (src/store/output-link.ts):
 *
 * - notices, heard by every host: `{ q, k: 'read' | 'unread', id, r, s }`, reader host `r`
 *   wants (or no longer wants) task `id`'s values for its stream `s`; `{ q, k: 'hello', r }`,
 *   host `r` has begun to listen (it joined the queue, or its feed came back) and missed
 *   the interests told before: the readers tell theirs again;
 * - to a reader host, from forwarder `f` of stream `s`, numbered from 0 per forwarder so a
 *   gap is seen: `h|s|f|0|<host>` (f runs on <host>: its room goes there), `v|s|f|n|<base64>`
 *   (bytes of the values, see below), `e|s|f|n|` (the task has ended: nothing more comes),
 *   `x|s|f|n|<message>` (a value could not be serialized to travel: the reading ends),
 *   `k|s|f|n|<host>` (still reading? the forwarder's feed was cut, and it may have missed
 *   the reader's `unread`);
 * - to a forwarder's host: `a|f|<count>`, the reader handed on that many more values;
 *   `s|f|`, stop: the reading it sends to is over (its `unread` may have been missed).
 *
 * Values travel as one stream of bytes per forwarder: each value's v8 serialization after
 * its length (4 bytes, big-endian), cut into pieces that fit a NOTIFY (PIECE_BYTES, under
 * 8000 bytes once in base64 with the header); a value larger than a piece spans several,
 * sent in one transaction, so they arrive together and in order.
 */
import { deserialize, serialize } from 'node:v8';

/** Bytes of values per piece: 5,820 bytes are 7,760 in base64, under the 8,000-byte NOTIFY payload with the header. */
const PIECE_BYTES = 5820;

export type Notice = { kind: 'read' | 'unread'; id: string; reader: string; stream: string } | { kind: 'hello'; host: string };

export function noticeText(queue: string, notice: Notice): string {
  if (notice.kind === 'hello') return JSON.stringify({ q: queue, k: notice.kind, r: notice.host });
  return JSON.stringify({ q: queue, k: notice.kind, id: notice.id, r: notice.reader, s: notice.stream });
}

/** The notice in a control payload for `queue`, or undefined (another queue's, or another kind of message). */
export function noticeOf(payload: string, queue: string): Notice | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(payload) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || value.q !== queue) return undefined;
  const { k, id, r, s } = value;
  if (k === 'hello') return typeof r === 'string' ? { kind: k, host: r } : undefined;
  if ((k !== 'read' && k !== 'unread') || typeof id !== 'string' || typeof r !== 'string' || typeof s !== 'string') return undefined;
  return { kind: k, id, reader: r, stream: s };
}

export type Piece =
  | { kind: 'h'; stream: string; forwarder: string; seq: number; host: string }
  | { kind: 'v'; stream: string; forwarder: string; seq: number; bytes: Buffer }
  | { kind: 'e'; stream: string; forwarder: string; seq: number }
  | { kind: 'x'; stream: string; forwarder: string; seq: number; message: string }
  | { kind: 'k'; stream: string; forwarder: string; seq: number; host: string }
  | { kind: 'a'; forwarder: string; count: number }
  | { kind: 's'; forwarder: string };

export function pieceText(piece: Piece): string {
  switch (piece.kind) {
    case 'h':
      return `h|${piece.stream}|${piece.forwarder}|${piece.seq}|${piece.host}`;
    case 'v':
      return `v|${piece.stream}|${piece.forwarder}|${piece.seq}|${piece.bytes.toString('base64')}`;
    case 'e':
      return `e|${piece.stream}|${piece.forwarder}|${piece.seq}|`;
    case 'k':
      return `k|${piece.stream}|${piece.forwarder}|${piece.seq}|${piece.host}`;
    case 'x':
      // Its own separator out: the message is for people only.
      return `x|${piece.stream}|${piece.forwarder}|${piece.seq}|${piece.message.replaceAll('|', '/').slice(0, 1000)}`;
    case 'a':
      return `a|${piece.forwarder}|${piece.count}`;
    case 's':
      return `s|${piece.forwarder}|`;
  }
}

/** The piece in a payload of this host's own channel, or undefined when it is not one. */
export function pieceOf(payload: string): Piece | undefined {
  const parts = payload.split('|');
  const kind = parts[0];
  if (kind === 's') return parts.length === 3 ? { kind, forwarder: parts[1]! } : undefined;
  if (kind === 'a') {
    const count = Number(parts[2]);
    return parts.length === 3 && Number.isInteger(count) && count > 0 ? { kind, forwarder: parts[1]!, count } : undefined;
  }
  if (parts.length !== 5) return undefined;
  const [, stream, forwarder, seqText, rest] = parts as [string, string, string, string, string];
  const seq = Number(seqText);
  if (!Number.isInteger(seq)) return undefined;
  if (kind === 'h') return { kind, stream, forwarder, seq, host: rest };
  if (kind === 'v') return { kind, stream, forwarder, seq, bytes: Buffer.from(rest, 'base64') };
  if (kind === 'e') return { kind, stream, forwarder, seq };
  if (kind === 'x') return { kind, stream, forwarder, seq, message: rest };
  if (kind === 'k') return { kind, stream, forwarder, seq, host: rest };
  return undefined;
}

/** A value as it travels: its length, then its v8 serialization. Throws what serialize throws. */
export function frame(value: unknown): Buffer {
  const bytes = serialize(value);
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(bytes.length, 0);
  return Buffer.concat([head, bytes]);
}

/** Cuts bytes into pieces of at most PIECE_BYTES. */
export function cut(bytes: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += PIECE_BYTES) pieces.push(bytes.subarray(at, at + PIECE_BYTES));
  return pieces;
}

/** The values whose bytes have all come, in order; the rest of a value waits for its next piece. */
export class FrameReader {
  #pending: Buffer[] = [];
  #length = 0;
  /** Bytes the next value needs in all (known once its length has come): a large value's pieces are joined once. */
  #need = 4;

  add(bytes: Buffer): unknown[] {
    this.#pending.push(bytes);
    this.#length += bytes.length;
    if (this.#length < this.#need) return [];
    let buffer = this.#pending.length === 1 ? this.#pending[0]! : Buffer.concat(this.#pending);
    const values: unknown[] = [];
    let at = 0;
    this.#need = 4;
    while (buffer.length - at >= 4) {
      const size = buffer.readUInt32BE(at);
      if (buffer.length - at - 4 < size) {
        this.#need = 4 + size;
        break;
      }
      values.push(deserialize(buffer.subarray(at + 4, at + 4 + size)));
      at += 4 + size;
    }
    buffer = buffer.subarray(at);
    this.#pending = buffer.length === 0 ? [] : [buffer];
    this.#length = buffer.length;
    return values;
  }
}
