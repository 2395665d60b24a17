import type Stripe from 'stripe';
import type { Emulator } from '../emulator.js';
import { invalidRequest, resourceMissing } from '../errors.js';
import { newId } from '../ids.js';
import type { Router } from '../http/router.js';
import { createdFilter, newestFirst, paginate } from '../list.js';
import type { Stored } from '../store.js';
import { mergeMetadata, updateWithEvent } from './common.js';

export type ProductRecord = Stripe.Product & Stored;

/** Stores a new product (`product.created`): the products API, and products created inline (`plans.create({ product: { name } })`). */
export function newProduct(emu: Emulator, fields: Partial<ProductRecord> & { name: string }): ProductRecord {
  const now = emu.realNow();
  const product: ProductRecord = {
    id: newId('prod', 14),
    object: 'product',
    active: true,
    created: now,
    default_price: null,
    description: null,
    images: [],
    livemode: false,
    marketing_features: [],
    metadata: {},
    package_dimensions: null,
    shippable: null,
    statement_descriptor: null,
    tax_code: null,
    tax_details: null,
    type: 'service',
    unit_label: null,
    updated: now,
    url: null,
    ...fields,
  };
  emu.store.insert('product', product);
  emu.events.emit('product.created', product);
  return product;
}

export function registerProducts(router: Router, emu: Emulator): void {
  router.post('/v1/products', ({ params: p }) => {
    const id = p.string('id');
    const name = p.string('name', { required: true });
    const description = p.string('description');
    const active = p.bool('active');
    const metadata = p.metadata();
    const unitLabel = p.string('unit_label');
    const statementDescriptor = p.string('statement_descriptor');
    const taxCode = p.string('tax_code');
    p.done();
    if (id && emu.store.get('product', id)) {
      throw invalidRequest(`Product already exists.`, 'id', 'resource_already_exists');
    }
    const product = newProduct(emu, {
      ...(id ? { id } : {}),
      name,
      active: active ?? true,
      description: description ?? null,
      metadata: mergeMetadata({}, metadata),
      statement_descriptor: statementDescriptor ?? null,
      tax_code: taxCode ?? null,
      unit_label: unitLabel ?? null,
    });
    return product;
  });

  router.get('/v1/products/:id', ({ params: p, path }) => {
    p.done();
    return liveProduct(emu, path.id!);
  });

  router.post('/v1/products/:id', ({ params: p, path }) => {
    const product = liveProduct(emu, path.id!);
    const name = p.string('name');
    const description = p.nullableString('description');
    const active = p.bool('active');
    const metadata = p.metadata();
    const defaultPrice = p.string('default_price');
    p.done();
    if (defaultPrice) emu.store.require('price', defaultPrice, 'price', 'default_price');
    return updateWithEvent(emu, 'product.updated', product, (o) => {
      if (name !== undefined) o.name = name;
      if (description !== undefined) o.description = description;
      if (active !== undefined) o.active = active;
      if (defaultPrice !== undefined) o.default_price = defaultPrice;
      o.metadata = mergeMetadata(o.metadata as Record<string, string>, metadata);
      o.updated = emu.realNow();
    });
  });

  router.delete('/v1/products/:id', ({ params: p, path }) => {
    p.done();
    const product = liveProduct(emu, path.id!);
    if (emu.store.all<Stripe.Price & Stored>('price').some((price) => price.product === product.id)) {
      throw invalidRequest('This product cannot be deleted because it has one or more user-created prices.', 'id');
    }
    emu.store.delete('product', product.id);
    emu.events.emit('product.deleted', product);
    return { id: product.id, object: 'product', deleted: true };
  });

  router.get('/v1/products', ({ params: p, url }) => {
    const active = p.bool('active');
    const ids = p.strings('ids');
    const created = createdFilter(p);
    const list = newestFirst(emu.store.all<ProductRecord>('product')).filter(
      (o) =>
        (active === undefined || o.active === active) && (!ids || ids.includes(o.id)) && (!created || created(o.created)),
    );
    const page = paginate(list, p, url);
    p.done();
    return page;
  });
}

function liveProduct(emu: Emulator, id: string): ProductRecord {
  const product = emu.store.get<ProductRecord>('product', id);
  if (!product) throw resourceMissing('product', id);
  return product;
}
