// Templates as tagged strings (htm) rendered by Preact: no build step, and every value inserted
// is text, never markup.
import { h } from 'preact';
import htm from 'htm';

export const html = htm.bind(h);
