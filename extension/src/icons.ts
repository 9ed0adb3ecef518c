import { LabIcon } from '@jupyterlab/ui-components';

import lakebookSvgstr from '../style/icons/lakebook.svg';

/**
 * The Lakebook glyph: an open book whose lines are waves (a lake).
 *
 * Drawn with the `jp-icon3` class so it follows the light and dark themes.
 */
export const lakebookIcon = new LabIcon({
  name: 'lakebook:lakebook',
  svgstr: lakebookSvgstr
});
