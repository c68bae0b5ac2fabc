// A question asked before something that cannot be undone (deleting an integration profile,
// revoking or rotating an API key): a modal dialog, Cancel focused, Esc cancels; closed either
// way, the focus goes back where it was, then the answer is given.
import { useEffect, useRef } from 'react';

export function ConfirmDialog(props: { title: string; text: string; yes: string; danger?: boolean; onYes: () => void; onNo: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  const onClose = () => (ref.current?.returnValue === 'yes' ? props.onYes() : props.onNo());
  return (
    <dialog ref={ref} className="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-text" onClose={onClose}>
      <h2 id="confirm-title">{props.title}</h2>
      <p id="confirm-text">{props.text}</p>
      <div className="row">
        <button type="button" className={props.danger === false ? 'primary' : 'danger-solid'} onClick={() => ref.current?.close('yes')}>
          {props.yes}
        </button>
        <button type="button" onClick={() => ref.current?.close('no')} autoFocus>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
