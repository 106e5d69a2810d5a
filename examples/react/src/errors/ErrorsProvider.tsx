import { useAuth0 } from '@auth0/auth0-react';
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { toAppError, type AppError } from './app-error';
import { ErrorAlert } from './ErrorAlert';

interface Errors {
  /** Shows `error`; `retry` is what "Try again" does. */
  report(error: unknown, retry?: () => void): void;
  clear(): void;
}

const ErrorsContext = createContext<Errors>({ report: () => undefined, clear: () => undefined });

export const useErrors = () => useContext(ErrorsContext);

/** One alert for the whole page: the latest error, until the next action or Dismiss. */
export function ErrorsProvider({ initial, children }: { initial: AppError | null; children: ReactNode }) {
  const { loginWithRedirect } = useAuth0();
  const [shown, setShown] = useState<{ error: AppError & { at: number }; retry?: () => void } | null>(
    initial && { error: { ...initial, at: Date.now() } },
  );
  const report = useCallback((error: unknown, retry?: () => void) => {
    setShown({ error: { ...toAppError(error), at: Date.now() }, retry });
  }, []);
  const clear = useCallback(() => setShown(null), []);
  const value = useMemo(() => ({ report, clear }), [report, clear]);
  return (
    <ErrorsContext.Provider value={value}>
      {shown && (
        <ErrorAlert
          error={shown.error}
          onRetry={
            shown.retry &&
            (() => {
              setShown(null);
              shown.retry?.();
            })
          }
          onSignIn={() => void loginWithRedirect()}
          onDismiss={clear}
        />
      )}
      {children}
    </ErrorsContext.Provider>
  );
}
