// Compiled (never run) against the types openapi-typescript generates from the served
// document (storefront.d.ts, written next to a copy of this file by the test).
import type { components, operations, paths } from "./storefront";

type Product = components["schemas"]["ProductResponse"];
type Problem = components["schemas"]["Problem"];
type OrderBody = paths["/api/v1/orders"]["post"]["requestBody"]["content"]["application/json"];
type PlacedOrder = operations["place_order"]["responses"][201]["content"]["application/json"];
type FormLogin =
    operations["login"]["requestBody"]["content"]["application/x-www-form-urlencoded"];
type Conflict =
    operations["cancel_order"]["responses"][409]["content"]["application/problem+json"];

export const login: FormLogin = { username: "alice@example.com", password: "secret-password" };
export const body: OrderBody = { items: [{ product_id: 1, quantity: 2 }] };

export function total(order: PlacedOrder): string {
    return order.status === "placed" ? order.total : "0.00";
}

export function price(product: Product): string {
    return product.price;
}

export function describe(problem: Problem | Conflict): string {
    const fields = (problem.errors ?? []).map((error) => error.field).join(", ");
    return `${problem.status} ${problem.title}: ${problem.detail} ${fields}`;
}

// The types say what the contract says: money is a string, never a number...
// @ts-expect-error a price is a decimal string
export const wrongPrice: Product["price"] = 19.99;
// ...an order line needs its quantity...
// @ts-expect-error quantity is required
export const incomplete: OrderBody = { items: [{ product_id: 1 }] };
// ...and an order's status is one of two words.
// @ts-expect-error status is "placed" or "cancelled"
export const unknownStatus: PlacedOrder["status"] = "shipped";
