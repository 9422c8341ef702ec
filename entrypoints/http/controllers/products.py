"""The catalogue: public reads, superuser writes."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from application.catalogue import (
    CreateProduct,
    DeleteProduct,
    GetProduct,
    GetProductBySlug,
    ListProducts,
    ListProductsCommand,
    ReplaceProduct,
    ReplaceProductCommand,
    UpdateProduct,
    UpdateProductCommand,
)
from application.pagination import MAX_PAGE_SIZE
from domain.products import CATEGORY_MAX_LENGTH, Product, ProductDetails
from entrypoints.http.conditional import (
    ETAG_HEADER,
    NOT_MODIFIED,
    IfMatch,
    IfNoneMatch,
    entity_tag,
    expected_version,
    tagged,
)
from entrypoints.http.content_types import strict_json_body
from entrypoints.http.problems import problem_responses
from entrypoints.http.provided import Provided
from entrypoints.http.schemas.catalogue import (
    ProductPage,
    ProductPatchRequest,
    ProductRequest,
    ProductResponse,
    product_page,
    product_response,
)
from entrypoints.http.schemas.common import MAX_SKIP, given, given_money, money_amount
from entrypoints.http.security import PUBLIC, PUBLIC_SECURITY, superuser_only

SortKey = Literal["id", "name", "-name", "price", "-price", "created_at", "-created_at"]


def _tag(product: Product) -> str:
    return entity_tag("product", product.id, product.version)


def _tagged(product: Product, if_none_match: str | None = None) -> Response[ProductResponse]:
    return tagged(product_response(product), _tag(product), if_none_match)


def _details(data: ProductRequest) -> ProductDetails:
    return ProductDetails.checked(
        name=data.name,
        description=data.description,
        price=money_amount(data.price),
        stock=data.stock,
        category=data.category,
        image_url=data.image_url,
    )


class ProductController(Controller):
    """Anyone may browse; only superusers change the catalogue."""

    path = "/api/v1/products"
    tags = ["products"]

    @get(
        "/",
        operation_id="list_products",
        summary="A page of the catalogue",
        description="Offset pages (`skip`, `limit`) or keyset pages (`after` = the previous "
        "page's `next_cursor`, with the same filters and sort).",
        opt=PUBLIC,
        security=PUBLIC_SECURITY,
        responses=problem_responses(422),
    )
    async def list_products(
        self,
        list_products: Provided[ListProducts],
        skip: Annotated[int, QueryParameter(ge=0, le=MAX_SKIP)] = 0,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE_SIZE)] = 20,
        category: Annotated[str | None, QueryParameter(max_length=CATEGORY_MAX_LENGTH)] = None,
        q: Annotated[
            str | None,
            QueryParameter(max_length=200, description="Case-insensitive substring of the name"),
        ] = None,
        sort: FromQuery[SortKey] = "id",
        after: Annotated[
            str | None,
            QueryParameter(max_length=1024, description="next_cursor of the previous page"),
        ] = None,
    ) -> ProductPage:
        page = await list_products.execute(
            ListProductsCommand(
                skip=skip, limit=limit, after=after, category=category, q=q, sort=sort
            )
        )
        return product_page(page)

    @get(
        "/{product_id:int}",
        operation_id="get_product",
        summary="One product",
        opt=PUBLIC,
        security=PUBLIC_SECURITY,
        responses={**problem_responses(404), **NOT_MODIFIED},
        response_headers=ETAG_HEADER,
    )
    async def get_product(
        self,
        product_id: FromPath[int],
        get_product: Provided[GetProduct],
        if_none_match: IfNoneMatch = None,
    ) -> Response[ProductResponse]:
        product = await get_product.execute(product_id)
        return _tagged(product, if_none_match)

    @get(
        "/slug/{slug:str}",
        operation_id="get_product_by_slug",
        summary="One product, by slug",
        opt=PUBLIC,
        security=PUBLIC_SECURITY,
        responses={**problem_responses(404), **NOT_MODIFIED},
        response_headers=ETAG_HEADER,
    )
    async def get_product_by_slug(
        self,
        slug: FromPath[str],
        get_product_by_slug: Provided[GetProductBySlug],
        if_none_match: IfNoneMatch = None,
    ) -> Response[ProductResponse]:
        product = await get_product_by_slug.execute(slug)
        return _tagged(product, if_none_match)

    @post(
        "/",
        operation_id="create_product",
        summary="Add a product (its slug is made from the name)",
        guards=[superuser_only, strict_json_body],
        responses=problem_responses(401, 403, 409, 422),
        response_headers=ETAG_HEADER,
    )
    async def create_product(
        self, data: JSONBody[ProductRequest], create_product: Provided[CreateProduct]
    ) -> Response[ProductResponse]:
        product = await create_product.execute(_details(data))
        return _tagged(product)

    @put(
        "/{product_id:int}",
        operation_id="replace_product",
        summary="Replace a product (the slug stays)",
        guards=[superuser_only, strict_json_body],
        responses=problem_responses(401, 403, 404, 412, 422),
        response_headers=ETAG_HEADER,
    )
    async def replace_product(
        self,
        product_id: FromPath[int],
        data: JSONBody[ProductRequest],
        replace_product: Provided[ReplaceProduct],
        if_match: IfMatch = None,
    ) -> Response[ProductResponse]:
        product = await replace_product.execute(
            ReplaceProductCommand(
                product_id=product_id,
                details=_details(data),
                expected_version=expected_version(if_match, "product", product_id),
            )
        )
        return _tagged(product)

    @patch(
        "/{product_id:int}",
        operation_id="update_product",
        summary="Change some fields of a product",
        guards=[superuser_only, strict_json_body],
        responses=problem_responses(401, 403, 404, 412, 422),
        response_headers=ETAG_HEADER,
    )
    async def update_product(
        self,
        product_id: FromPath[int],
        data: JSONBody[ProductPatchRequest],
        update_product: Provided[UpdateProduct],
        if_match: IfMatch = None,
    ) -> Response[ProductResponse]:
        product = await update_product.execute(
            UpdateProductCommand(
                product_id=product_id,
                name=given(data.name),
                description=given(data.description),
                price=given_money(data.price),
                stock=given(data.stock),
                category=given(data.category),
                image_url=given(data.image_url),
                expected_version=expected_version(if_match, "product", product_id),
            )
        )
        return _tagged(product)

    @delete(
        "/{product_id:int}",
        operation_id="delete_product",
        summary="Take a product out of the catalogue (orders keep their lines)",
        guards=[superuser_only],
        responses=problem_responses(401, 403, 404, 412),
    )
    async def delete_product(
        self,
        product_id: FromPath[int],
        delete_product: Provided[DeleteProduct],
        if_match: IfMatch = None,
    ) -> None:
        await delete_product.execute(product_id, expected_version(if_match, "product", product_id))
