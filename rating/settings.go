package rating

import (
	"math/big"
	"slices"

	billing "github.com/evovoice/billing"
)

// itemPrices are one item's parsed settings.
type itemPrices struct {
	baseCost, multiplier, unitCost, allowance *big.Rat
}

// priceList is one set of billing settings (the account's or an overriding
// customer's), parsed once and shared by every customer it applies to, with the
// per-month shares of base costs and allowances precomputed for the period.
type priceList struct {
	items [billing.NumItems]itemPrices

	baseShare  [billing.NumItems][]*big.Rat // baseCost × f, per month
	allowShare [billing.NumItems][]*big.Rat // allowance × f, per month
	idleCost   [billing.NumItems]*big.Rat   // rounded Σ baseCost × f: the cost of an unused item
}

// parsePrices reads settings; owner names them in errors ("account acct-1").
func parsePrices(settings billing.BillingSettings, owner string) (*priceList, error) {
	pl := &priceList{}
	for i := range pl.items {
		pl.items[i] = itemPrices{baseCost: new(big.Rat), multiplier: big.NewRat(1, 1), unitCost: new(big.Rat), allowance: new(big.Rat)}
	}
	unknown := make([]string, 0)
	for item := range settings {
		if !item.Valid() {
			unknown = append(unknown, string(item))
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return nil, billing.Errorf(billing.EINVALID, "Billing settings of %s name an unknown item %q.", owner, unknown[0])
	}
	for i, item := range billing.Items {
		s, ok := settings[item]
		if !ok {
			continue
		}
		fields := []struct {
			name, text string
			dst        *big.Rat
		}{
			{"baseCost", s.BaseCost, pl.items[i].baseCost},
			{"rawUnitMultiplier", s.RawUnitMultiplier, pl.items[i].multiplier},
			{"unitCost", s.UnitCost, pl.items[i].unitCost},
			{"allowance", s.Allowance, pl.items[i].allowance},
		}
		for _, f := range fields {
			if f.text == "" {
				continue
			}
			v, err := billing.ParseDecimal(f.text)
			if err != nil {
				return nil, billing.WrapError(billing.EINVALID, err, "Billing settings of %s: %s.%s %q is not a non-negative decimal number.", owner, item, f.name, f.text)
			}
			f.dst.Set(v)
		}
	}
	return pl, nil
}

// prorate precomputes the per-month shares for the period's month fractions.
func (pl *priceList) prorate(fractions []*big.Rat) {
	for i := range pl.items {
		p := pl.items[i]
		pl.baseShare[i] = make([]*big.Rat, len(fractions))
		pl.allowShare[i] = make([]*big.Rat, len(fractions))
		idle := new(big.Rat)
		for m, f := range fractions {
			pl.baseShare[i][m] = new(big.Rat).Mul(p.baseCost, f)
			pl.allowShare[i][m] = new(big.Rat).Mul(p.allowance, f)
			idle.Add(idle, pl.baseShare[i][m])
		}
		pl.idleCost[i] = RoundCents(idle)
	}
}
