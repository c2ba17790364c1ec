// Form helpers shared by the settings pages: reading a form, and saying how a change went beside
// where it was made.
import { el } from './api.js';

/**
 * Says how a change went right where it was made: under a form (after its button), or beside a
 * control; "Saved." or the server's reason, in red and as an alert when it failed.
 */
export function sayBeside(node, text, failed) {
  const form = node.tagName === 'FORM';
  let line = form ? node.querySelector(':scope > .form-status') : node.nextElementSibling;
  if (!line || !line.classList.contains('form-status')) {
    line = el(form ? 'p' : 'span', { class: 'form-status' });
    if (form) node.append(line);
    else node.after(line);
  }
  line.setAttribute('role', failed ? 'alert' : 'status');
  line.classList.toggle('error', !!failed);
  line.textContent = text;
}

/** A form's filled fields, checkboxes as booleans. */
export function formValues(form) {
  const values = {};
  for (const field of form.elements) {
    if (!field.name) continue;
    if (field.type === 'checkbox') values[field.name] = field.checked;
    else if (field.type === 'radio') {
      if (field.checked) values[field.name] = field.value;
    }
    else if (field.value !== '') values[field.name] = field.value;
  }
  return values;
}

/** Runs `action` with the form's values on submit, and says "Saved." or why not. */
export function onSubmit(form, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    sayBeside(form, '');
    try {
      await action(formValues(form));
      sayBeside(form, 'Saved.');
    } catch (e) {
      sayBeside(form, e.message, true);
    }
  });
}
