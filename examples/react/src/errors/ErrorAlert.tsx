import { useEffect, useState } from 'react';
import { adviceFor, type AppError } from './app-error';

/** Seconds left until `until` (epoch ms), counted down once a second; 0 when there is no wait. */
function useSecondsUntil(until: number | null): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (until === null) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [until]);
  return until === null ? 0 : Math.max(0, Math.ceil((until - now) / 1000));
}

/**
 * An error as the user sees it: the gateway's message, its code and reason (in `data-code` and
 * `data-reason` for scripts and tests), and the one thing to do — retry after `retryAfter`
 * seconds, sign in again, or nothing.
 */
export function ErrorAlert({
  error,
  onRetry,
  onSignIn,
  onDismiss,
}: {
  error: AppError & { at: number };
  onRetry?: () => void;
  onSignIn: () => void;
  onDismiss: () => void;
}) {
  const advice = adviceFor(error);
  const seconds = useSecondsUntil(error.retryAfter === null ? null : error.at + error.retryAfter * 1000);
  return (
    <div
      role="alert"
      className="alert"
      data-code={error.code}
      data-reason={error.reason ?? ''}
      data-action={advice.action}
      {...(error.retryAfter === null ? {} : { 'data-retry-after': String(error.retryAfter) })}
    >
      <p className="alert-title">
        <code>{error.code}</code>
        {error.reason && <code>{error.reason}</code>}
        <span>{error.message}</span>
      </p>
      <p>{advice.text}</p>
      <div className="alert-actions">
        {advice.action === 'retry' && onRetry && (
          <button type="button" onClick={onRetry} disabled={seconds > 0}>
            {seconds > 0 ? `Try again in ${seconds} s` : 'Try again'}
          </button>
        )}
        {advice.action === 'sign-in' && (
          <button type="button" onClick={onSignIn}>
            Sign in again
          </button>
        )}
        <button type="button" className="secondary" onClick={onDismiss}>
          Dismiss
        </button>
      </div>
    </div>
  );
}
