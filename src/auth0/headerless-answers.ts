// Auth0 sends x-ratelimit-* on every Management API answer: this many in a row without them
// means something strips them, and pacing at the cautious start would be slow for nothing.
const HEADERLESS_ANSWERS_BEFORE_UNPACED = 10;

/**
 * Notices when Auth0's answers stop carrying `x-ratelimit-*` headers (a proxy that strips them):
 * after ten in a row, learned mode stops pacing, with one warning naming AUTH0_RATE_LIMIT, until
 * an answer has them again (DESIGN §8).
 */
export class HeaderlessAnswers {
  /** Answers in a row without rate-limit headers. */
  private inARow = 0;
  private stopped = false;

  constructor(private readonly warn: (message: string) => void) {}

  /** Ten answers in a row had no rate-limit headers: no pacing until one has them. */
  get unpaced(): boolean {
    return this.stopped;
  }

  /** An answer without the headers; true when this one stopped the pacing. */
  missing(): boolean {
    this.inARow += 1;
    if (this.stopped || this.inARow < HEADERLESS_ANSWERS_BEFORE_UNPACED) return false;
    this.stopped = true;
    this.warn(
      `Auth0's last ${this.inARow} answers carried no x-ratelimit-* headers (a proxy may strip them): ` +
        'calls are no longer paced, only retried after a 429, until the headers come back. ' +
        "Set AUTH0_RATE_LIMIT to the tenant's limit to pace them.",
    );
    return true;
  }

  /** An answer with the headers: pacing resumes. */
  present(): void {
    this.inARow = 0;
    this.stopped = false;
  }
}
