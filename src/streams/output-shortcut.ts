/**
 * A reader of `output$` on the host that runs the task, through the shared-queue path (it
 * subscribed while the task was queued, and this host claimed it): what its forwarder
 * sends, and the room the reader counts back, are handed over in this process, a
 * microtask later, not through the server.
 */
import type { OutputLink } from '../store/output-link.js';

export function withShortcut(link: OutputLink, deliver: (piece: string) => void): OutputLink {
  return {
    host: link.host,
    queue: link.queue,
    announce: (notice) => link.announce(notice),
    present: (host) => (host === link.host ? Promise.resolve(true) : link.present(host)),
    send: (host, pieces) => {
      if (host !== link.host) return link.send(host, pieces);
      // In order, as the server would deliver one transaction's NOTIFYs.
      return Promise.resolve().then(() => {
        for (const piece of pieces) deliver(piece);
      });
    },
  };
}
