/** Names, contact points and addresses for synthetic people and organisations. */
import type { Address, ContactPoint } from '@medplum/fhirtypes';
import type { Random } from './random';
import { AREA_CODE, CULTURES, PLACES, STATE } from './vocabulary';
import type { NameCulture } from './vocabulary';

export type Gender = 'female' | 'male' | 'other' | 'unknown';

export interface PersonName {
  readonly given: string;
  readonly family: string;
  readonly culture: NameCulture;
}

export function personName(rng: Random, gender: Gender): PersonName {
  const culture = rng.weighted(CULTURES);
  const female = gender === 'female' || (gender !== 'male' && rng.chance(0.5));
  return { given: rng.pick(female ? culture.female : culture.male), family: rng.pick(culture.family), culture };
}

/** 555-0100 to 555-0199: the range reserved for fictional use in North America. */
export function phone(rng: Random): string {
  return `+1 ${AREA_CODE}-555-01${String(rng.int(0, 99)).padStart(2, '0')}`;
}

const FOLD: Record<string, string> = { đ: 'd', ø: 'o', ł: 'l', ß: 'ss', ı: 'i', æ: 'ae', œ: 'oe' };

/** An ASCII e-mail local part from a name: "Nguyễn Đặng" → "nguyen.dang". */
export function emailLocal(...parts: string[]): string {
  return parts
    .map((p) =>
      p
        .toLowerCase()
        .normalize('NFD')
        .replace(/\p{M}/gu, '')
        .replace(/[đøłßıæœ]/g, (c) => FOLD[c] ?? '')
        .replace(/[^a-z]/g, ''),
    )
    .join('.');
}

export function mobile(rng: Random): ContactPoint {
  return { system: 'phone', value: phone(rng), use: 'mobile' };
}

export function streetAddress(rng: Random, use: Address['use']): Address {
  const place = rng.pick(PLACES);
  const unit = rng.chance(0.35) ? ` Apt ${rng.int(1, 40)}${rng.pick(['', 'A', 'B'])}` : '';
  return {
    use,
    type: 'both',
    line: [`${rng.int(100, 19999)} ${rng.pick(place.streets)}${unit}`],
    city: place.city,
    state: STATE,
    postalCode: rng.pick(place.postalCodes),
    country: 'US',
  };
}
