// Every request the emulator received, in arrival order, with the status it answered.
import type { Journal, JournalEntry, RouteName } from './types.js';

export class RequestJournal implements Journal {
  private readonly list: JournalEntry[] = [];

  /** Records a request now; the caller fills `body` and `status` as they become known. */
  begin(entry: JournalEntry): JournalEntry {
    this.list.push(entry);
    return entry;
  }

  entries(filter: { route?: RouteName; method?: string } = {}): JournalEntry[] {
    return this.list.filter(
      (e) =>
        (filter.route === undefined || e.route === filter.route) &&
        (filter.method === undefined || e.method === filter.method.toUpperCase()),
    );
  }

  count(route?: RouteName): number {
    return route === undefined ? this.list.length : this.entries({ route }).length;
  }

  clear(): void {
    this.list.length = 0;
  }
}
