import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { describeError } from './api';

/** An API failure in words, announced to screen readers. */
export function ErrorText({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      {describeError(error)}
    </p>
  );
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

/** Loads once and on `reload()`; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data: T | null; error: unknown; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data: T | null; error: unknown; loading: boolean }>({ data: null, error: null, loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, error: null, loading: false }),
      (error) => live && setState((s) => ({ data: s.data, error, loading: false })),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  const reload = useCallback(() => setRound((r) => r + 1), []);
  return { ...state, reload };
}

/** Runs an action, remembering whether it is running and how it failed. */
export function useAction(): { busy: boolean; error: unknown; run: (action: () => Promise<void>) => Promise<void>; clear: () => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = useCallback(async (action: () => Promise<void>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, clear: () => setError(null) };
}

/** A modal confirmation (native <dialog>: focus trap and Escape for free). */
export function ConfirmDialog(props: {
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  danger?: boolean;
  busy?: boolean;
  error?: unknown;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} class="dialog" aria-labelledby="dialog-title" onCancel={(e) => (e.preventDefault(), props.onCancel())}>
      <h2 id="dialog-title">{props.title}</h2>
      {props.children}
      <ErrorText error={props.error} />
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class={props.danger ? 'danger' : 'primary'} disabled={props.busy} onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A secret shown exactly once, with a copy button and the warning that goes with it. */
export function SecretOnce(props: { title: string; secrets: { label: string; value: string }[]; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = async (label: string, value: string, input: HTMLInputElement | null) => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(label);
    } catch {
      // No clipboard API (a page served over plain http from another host): select it for Ctrl+C.
      input?.select();
      setCopied(document.execCommand('copy') ? label : null);
    }
  };
  return (
    <section class="secret" aria-labelledby="secret-title">
      <h2 id="secret-title">{props.title}</h2>
      <p class="warning" role="alert">
        Copy it now and store it somewhere safe. It is shown only this once: Keyledger keeps only a hash and cannot show it again.
      </p>
      {props.secrets.map((s) => (
        <div class="secret-row" key={s.label}>
          <label>
            {s.label}
            <input readOnly value={s.value} data-testid="secret-value" onFocus={(e) => (e.target as HTMLInputElement).select()} />
          </label>
          <button
            type="button"
            onClick={(e) => copy(s.label, s.value, (e.currentTarget as HTMLElement).parentElement?.querySelector('input') ?? null)}
            aria-label={`Copy ${s.label.toLowerCase()}`}
          >
            {copied === s.label ? 'Copied' : 'Copy'}
          </button>
        </div>
      ))}
      <button type="button" class="primary" onClick={props.onDone}>
        I have stored it
      </button>
    </section>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`}>{status}</span>;
}
