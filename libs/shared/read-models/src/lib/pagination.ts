/** Opaque list cursors: the (created_at, id) of the last item, base64url. */
export interface PageCursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(item: { created_at: Date | string; id: string }): string {
  return Buffer.from(`${new Date(item.created_at).toISOString()}|${item.id}`, 'utf8').toString('base64url');
}

/** Null when the cursor is not one we issued. */
export function decodeCursor(cursor: string): PageCursor | null {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime())) return null;
  return { createdAt, id };
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Fetch `limit + 1` rows; the extra one only says whether there is a next page. */
export function toPage<R extends { created_at: Date; id: string }, T>(rows: R[], limit: number, view: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  return { items: items.map(view), next_cursor: rows.length > limit ? encodeCursor(items[items.length - 1]) : null };
}
