// Form fields with their label and their error (aria-invalid, aria-describedby), one way for every page.
import type { ReactNode } from 'react';

export function Field(props: {
  id: string;
  label: string;
  value: string;
  onChange?: (v: string) => void;
  error?: string | undefined;
  type?: string;
  readOnly?: boolean;
  required?: boolean;
  help?: string;
  autoComplete?: string;
  autoFocus?: boolean;
  options?: readonly (string | { value: string; label: string })[];
}) {
  const { id, label, value, onChange, error, readOnly } = props;
  const described = [error ? `${id}-error` : null, props.help ? `${id}-help` : null].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: id,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': described,
    required: props.required,
    autoFocus: props.autoFocus,
  };
  let control: ReactNode;
  if (readOnly || !onChange) {
    control = (
      <output id={id} className="value" aria-labelledby={`${id}-label`} aria-describedby={described}>
        {value || '—'}
      </output>
    );
  } else if (props.options) {
    control = (
      <select {...common} value={value} onChange={(e) => onChange(e.target.value)}>
        {props.options.map((o) => {
          const opt = typeof o === 'string' ? { value: o, label: o || '—' } : o;
          return (
            <option key={opt.value} value={opt.value}>
              {opt.label}
            </option>
          );
        })}
      </select>
    );
  } else {
    control = <input {...common} type={props.type ?? 'text'} value={value} autoComplete={props.autoComplete ?? 'off'} onChange={(e) => onChange(e.target.value)} />;
  }
  return (
    <div className={`field${error ? ' has-error' : ''}`}>
      {readOnly || !onChange ? <span className="label" id={`${id}-label`}>{label}</span> : <label htmlFor={id}>{label}{props.required ? <span aria-hidden="true"> *</span> : null}</label>}
      {control}
      {props.help && (
        <p className="help" id={`${id}-help`}>
          {props.help}
        </p>
      )}
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  );
}

export function SectionError({ error }: { error?: string | undefined }) {
  if (!error) return null;
  return (
    <p className="field-error section-error" role="alert">
      {error}
    </p>
  );
}
