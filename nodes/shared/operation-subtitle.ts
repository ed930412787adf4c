import type { INodePropertyOptions } from 'n8n-workflow';

/**
 * A node's subtitle on the canvas: the selected operation's name as the Operation list shows it
 * ("Clean Expired", not "cleanExpired"), then ": <detail>" when a detail parameter has a value
 * (no dangling colon when it is empty or hidden for the operation).
 */
export function operationSubtitle(options: INodePropertyOptions[], detailParameter?: string): string {
  const names = JSON.stringify(Object.fromEntries(options.map((option) => [String(option.value), option.name])));
  const operation = `(${names}[$parameter["operation"]] || $parameter["operation"])`;
  if (!detailParameter) return `={{ ${operation} }}`;
  const detail = `$parameter["${detailParameter}"]`;
  return `={{ ${operation} + (typeof ${detail} === "string" && ${detail} !== "" ? ": " + ${detail} : "") }}`;
}
