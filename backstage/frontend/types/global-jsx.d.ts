/**
 * Type-checking only: @types/react 19 (what this app's lock resolves) dropped the global
 * `JSX` namespace that some dependencies' published sources still name (react-markdown's
 * lib/complex-types.ts, reached through @backstage/core-components). This restores it from
 * `React.JSX` for `tsc`; nothing here reaches a bundle or the published package.
 */
import type { JSX as ReactJSX } from 'react';

declare global {
  namespace JSX {
    type Element = ReactJSX.Element;
    type ElementClass = ReactJSX.ElementClass;
    type ElementAttributesProperty = ReactJSX.ElementAttributesProperty;
    type ElementChildrenAttribute = ReactJSX.ElementChildrenAttribute;
    type IntrinsicAttributes = ReactJSX.IntrinsicAttributes;
    type IntrinsicClassAttributes<T> = ReactJSX.IntrinsicClassAttributes<T>;
    type IntrinsicElements = ReactJSX.IntrinsicElements;
  }
}
