// Semantic validation of Telemetry (Istio webhook + CRD rules): providers, tracing, metrics, logs.
import type { FieldPath } from "../diagnostic.ts";
import { checkDryRunAnnotation, checkPolicyScope } from "./authorization-policy-scope.ts";
import type { KindValidator, ValidationContext } from "./context.ts";
import { checkDuration, checkRange, isObj, items, type Obj, objects, present } from "./rules.ts";
import { celSyntaxProblem } from "./telemetry-filter.ts";

const TAG_TYPES = ["literal", "environment", "header", "formatter"] as const;

export const validateTelemetry: KindValidator = (spec, ctx) => {
  checkDryRunAnnotation(ctx);
  checkPolicyScope(ctx, spec);
  checkTracing(ctx, spec.tracing);
  for (const [metrics, i] of objects(spec.metrics)) {
    const path = ["spec", "metrics", i];
    checkProviders(ctx, [...path, "providers"], metrics.providers);
    checkDuration(ctx, [...path, "reportingInterval"], metrics.reportingInterval);
    for (const [override, j] of items(metrics.overrides)) {
      if (override === null) {
        ctx.error(
          [...path, "overrides", j],
          "CREMA_VALIDATION_REQUIRED",
          "override is empty (null); give it a match or tagOverrides, or remove it",
        );
      } else if (isObj(override)) {
        checkOverride(ctx, [...path, "overrides", j], override);
      }
    }
  }
  for (const [logging, i] of objects(spec.accessLogging)) {
    const path = ["spec", "accessLogging", i];
    checkProviders(ctx, [...path, "providers"], logging.providers);
    if (isObj(logging.filter)) {
      const expression = logging.filter.expression;
      const problem = celSyntaxProblem(typeof expression === "string" ? expression : "");
      if (problem) {
        ctx.error(
          [...path, "filter", "expression"],
          "CREMA_VALIDATION_INVALID",
          `filter expression is not valid CEL: ${problem}; write e.g. response.code >= 400`,
        );
      }
    }
  }
};

function checkProviders(ctx: ValidationContext, path: FieldPath, providers: unknown): void {
  for (const [provider, i] of items(providers)) {
    if (provider === null || (isObj(provider) && provider.name === "")) {
      ctx.error(
        provider === null ? [...path, i] : [...path, i, "name"],
        "CREMA_VALIDATION_REQUIRED",
        "provider name is empty; name an extension provider from meshConfig.extensionProviders (or a built-in one such as envoy)",
      );
    }
  }
}

function checkTracing(ctx: ValidationContext, tracing: unknown): void {
  if (Array.isArray(tracing) && tracing.length > 1) {
    ctx.warn(
      ["spec", "tracing", 1],
      "CREMA_VALIDATION_INVALID",
      "only one tracing entry is supported; the others are ignored, merge them into one",
    );
  }
  for (const [entry, i] of objects(tracing)) {
    const path = ["spec", "tracing", i];
    checkProviders(ctx, [...path, "providers"], entry.providers);
    if (Array.isArray(entry.providers) && entry.providers.length > 1) {
      ctx.warn(
        [...path, "providers", 1],
        "CREMA_VALIDATION_INVALID",
        "only one tracing provider is supported; keep one provider per tracing entry",
      );
    }
    checkRange(
      ctx,
      [...path, "randomSamplingPercentage"],
      entry.randomSamplingPercentage,
      0,
      100,
      "randomSamplingPercentage",
    );
    if (isObj(entry.customTags)) {
      for (const [name, tag] of Object.entries(entry.customTags)) {
        checkCustomTag(ctx, [...path, "customTags", name], name, tag);
      }
    }
  }
}

function checkCustomTag(ctx: ValidationContext, path: FieldPath, name: string, tag: unknown): void {
  if (name === "") {
    ctx.error(path, "CREMA_VALIDATION_NAME", "custom tag name is empty; name the span tag");
  }
  if (!isObj(tag)) {
    if (tag === null) {
      ctx.error(
        path,
        "CREMA_VALIDATION_REQUIRED",
        `custom tag ${name} has no value; set one of literal, environment, header or formatter`,
      );
    }
    return;
  }
  const set = TAG_TYPES.filter((t) => present(tag[t]));
  if (set.length > 1) {
    ctx.error(
      [...path, set[1]!],
      "CREMA_VALIDATION_EXCLUSIVE",
      `custom tag ${name} sets ${set.join(" and ")}; a tag takes its value from exactly one of literal, environment, header or formatter`,
    );
  }
  const required: Record<(typeof TAG_TYPES)[number], string> = {
    literal: "value",
    environment: "name",
    header: "name",
    formatter: "value",
  };
  for (const type of set) {
    const source = tag[type];
    const field = required[type];
    if (isObj(source) && source[field] === "") {
      ctx.error(
        [...path, type, field],
        "CREMA_VALIDATION_REQUIRED",
        `${type}.${field} of custom tag ${name} is empty; fill it in`,
      );
    }
  }
}

function checkOverride(ctx: ValidationContext, path: FieldPath, override: Obj): void {
  const match = override.match;
  if (isObj(match)) {
    if (present(match.metric) && present(match.customMetric)) {
      ctx.error(
        [...path, "match", "customMetric"],
        "CREMA_VALIDATION_EXCLUSIVE",
        "match sets both metric and customMetric; select a standard metric or a custom one, not both",
      );
    }
    if (match.customMetric === "") {
      ctx.error(
        [...path, "match", "customMetric"],
        "CREMA_VALIDATION_REQUIRED",
        "customMetric is empty; name the metric, or use metric for a standard one",
      );
    }
  }
  if (!isObj(override.tagOverrides)) return;
  for (const [tag, change] of Object.entries(override.tagOverrides)) {
    const at = [...path, "tagOverrides", tag];
    if (tag === "") {
      ctx.warn(
        at,
        "CREMA_VALIDATION_NAME",
        "tag override name is empty; name the metric tag (label) to change",
      );
    }
    if (!isObj(change)) {
      if (change === null) {
        ctx.error(
          at,
          "CREMA_VALIDATION_REQUIRED",
          `tag override ${tag} is empty; set operation and value`,
        );
      }
      continue;
    }
    const operation = change.operation ?? "UPSERT";
    if (operation === "UPSERT" && (typeof change.value !== "string" || change.value === "")) {
      ctx.error(
        [...at, "value"],
        "CREMA_VALIDATION_REQUIRED",
        `tag override ${tag} upserts but has no value; set value (a CEL expression, e.g. request.host) or use operation: REMOVE`,
      );
    } else if (operation === "UPSERT" && typeof change.value === "string") {
      checkTagValue(ctx, [...at, "value"], tag, change.value);
    } else if (operation === "REMOVE" && present(change.value)) {
      ctx.error(
        [...at, "value"],
        "CREMA_VALIDATION_EXCLUSIVE",
        `tag override ${tag} removes the tag, so it cannot have a value; delete value or use operation: UPSERT`,
      );
    }
  }
}

function checkTagValue(ctx: ValidationContext, path: FieldPath, tag: string, value: string): void {
  const problem = celSyntaxProblem(value);
  if (problem) {
    ctx.error(
      path,
      "CREMA_VALIDATION_INVALID",
      `value of tag override ${tag} is not valid CEL: ${problem}; write an expression such as request.host or string(destination.port)`,
    );
  }
}
