package redshiftdata

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"time"
)

type city struct {
	name, region, country, tz string
	lat, lon                  float64
	pop, elev                 int
}

// Cities in the three regions of seed 003's RLS policies (Europe/…,
// Asia/…, America/… time zones).
var cities = []city{
	{"Berlin", "BE", "DE", "Europe/Berlin", 52.520008, 13.404954, 3645000, 34},
	{"Paris", "IDF", "FR", "Europe/Paris", 48.856613, 2.352222, 2161000, 35},
	{"London", "ENG", "GB", "Europe/London", 51.507351, -0.127758, 8982000, 11},
	{"Madrid", "MD", "ES", "Europe/Madrid", 40.416775, -3.703790, 3223000, 667},
	{"Tokyo", "13", "JP", "Asia/Tokyo", 35.689487, 139.691711, 13960000, 40},
	{"Singapore", "SG", "SG", "Asia/Singapore", 1.352083, 103.819839, 5686000, 15},
	{"Mumbai", "MH", "IN", "Asia/Kolkata", 19.075983, 72.877655, 12440000, 14},
	{"Seoul", "11", "KR", "Asia/Seoul", 37.566536, 126.977966, 9776000, 38},
	{"New York", "NY", "US", "America/New_York", 40.712776, -74.005974, 8336000, 10},
	{"Chicago", "IL", "US", "America/Chicago", 41.878113, -87.629799, 2746000, 181},
	{"Toronto", "ON", "CA", "America/Toronto", 43.653225, -79.383186, 2930000, 76},
	{"Sao Paulo", "SP", "BR", "America/Sao_Paulo", -23.550520, -46.633308, 12330000, 760},
}

var products = []struct {
	name, category string
	price          float64
}{
	{"Trail Running Shoes", "Footwear", 129.99}, {"Rain Jacket", "Apparel", 89.50}, {"Wool Socks", "Apparel", 14.25},
	{"Camping Tent", "Outdoor", 249.00}, {"Headlamp", "Outdoor", 39.95}, {"Water Bottle", "Accessories", 19.99},
	{"Backpack 30L", "Accessories", 119.00}, {"Yoga Mat", "Fitness", 34.50}, {"Dumbbell Set", "Fitness", 159.00},
}

// salesDataCSV generates seed 003's sales_data.csv: a header and rows
// spread evenly over the cities (so every region has rows).
func salesDataCSV(seed int64, rows int) []byte {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"SKU", "Product_Name", "Category", "Quantity", "Sales_Price", "Timestamp", "City", "Region_Code",
		"Country", "Latitude", "Longitude", "Population", "Elevation", "Timezone"})
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < rows; i++ {
		c := cities[i%len(cities)]
		p := products[r.IntN(len(products))]
		q := 1 + r.IntN(12)
		ts := start.Add(time.Duration(r.Int64N(int64(365 * 24 * time.Hour)))).Truncate(time.Second)
		_ = w.Write([]string{
			fmt.Sprintf("SKU-%05d", 10000+r.IntN(90000)), p.name, p.category, fmt.Sprint(q),
			fmt.Sprintf("%.2f", p.price*float64(q)), ts.Format("2006-01-02 15:04:05"), c.name, c.region, c.country,
			fmt.Sprintf("%.6f", c.lat), fmt.Sprintf("%.6f", c.lon), fmt.Sprint(c.pop), fmt.Sprint(c.elev), c.tz,
		})
	}
	w.Flush()
	return b.Bytes()
}
