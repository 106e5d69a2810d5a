// A receiver of the gateway's link and unlink events: verifies each delivery's Standard Webhooks
// signature with the `standardwebhooks` package before trusting it.
// Run: WEBHOOK_SECRET=whsec_… node dist/examples/webhook-receiver.js (listens on 127.0.0.1:8080).
import { createServer, type RequestListener } from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface AccountEvent {
  type: 'account.linked' | 'account.unlinked';
  timestamp: string;
  data: { primaryId: string; formerUserId?: string; detachedUserId?: string; [field: string]: unknown };
}

/** Answers 204 to a verified event (after `onEvent`), 400 to anything else. */
export function webhookReceiver(
  secret: string,
  onEvent: (event: AccountEvent, id: string) => void,
): RequestListener {
  const webhook = new Webhook(secret);
  return (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      try {
        // Checks the signature over the raw body and that the timestamp is within 5 minutes.
        const event = webhook.verify(Buffer.concat(chunks), request.headers as Record<string, string>);
        // At least once: the same webhook-id may come again; handle it once.
        onEvent(event as AccountEvent, String(request.headers['webhook-id']));
        response.writeHead(204).end();
      } catch {
        response.writeHead(400).end();
      }
    });
  };
}

if (process.argv[1]?.endsWith('webhook-receiver.js')) {
  const receiver = webhookReceiver(process.env.WEBHOOK_SECRET ?? '', (event, id) =>
    console.log(id, event.type, event.data.primaryId, event.data.formerUserId ?? event.data.detachedUserId),
  );
  createServer(receiver).listen(8080, '127.0.0.1');
}
