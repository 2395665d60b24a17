/**
 * Single-row reads by id for `Query.node` of the objects that have no service of their own to read
 * them: invoice lines, API keys and parked webhook events. Authorisation is the caller's job.
 */
import { InvoiceLine } from '../../db/entities/invoice.js';
import { queryPrepared, readPreparedRows, type PlainReader } from '../../db/plain-rows.js';
import { API_KEY_COLUMNS, toApiKeyView, type ApiKeyRow, type ApiKeyView } from '../api-keys/key-rows.js';
import { parkedEventsPage, type ParkedEventView } from './list-pages.js';

export async function invoiceLineById(em: PlainReader, id: string): Promise<InvoiceLine | null> {
  const [row] = await readPreparedRows(em, InvoiceLine, 'select * from invoice_lines where id = $1', [id]);
  return row ?? null;
}

export async function apiKeyById(em: PlainReader, id: string): Promise<ApiKeyView | null> {
  const [row] = await queryPrepared<ApiKeyRow>(em, `select ${API_KEY_COLUMNS} from api_keys where id = $1`, [id]);
  return row ? toApiKeyView(row) : null;
}

/** A parked webhook event by id; null when there is none or it is not parked. */
export async function parkedEventById(em: PlainReader, id: string): Promise<ParkedEventView | null> {
  // Read through the list's own mapping, so a node and a list entry are the same object.
  return (await parkedEventsPage(em, { first: 1 }, id)).edges[0]?.node ?? null;
}
