"""Grid, facility, rack and datacenter figures. Data only: each entry cites its source.

Carbon intensities are annual averages. Most come from Ember's yearly electricity data
(lifecycle gCO2e per kWh generated, 2023), via Our World in Data; where Ember has no
sub-national figure the grid operator's or regulator's own is used, and ``scope`` says whether
it counts lifecycle or only direct combustion emissions.
"""

from __future__ import annotations

from ..zoo.specs import Source
from .specs import DatacenterSpec, EmbodiedCarbon, GridProfile, PUEProfile, RackSpec, WUEProfile

_EMBER = Source("Ember, Yearly Electricity Data (via Our World in Data, 'Carbon intensity of electricity generation')",
                "https://ourworldindata.org/grapher/carbon-intensity-electricity", "2024",
                "Lifecycle emissions per kWh generated in 2023 (production mix, imports excluded).")
_EIA = Source("U.S. EIA FAQ: How much carbon dioxide is produced per kilowatthour of U.S. electricity generation?",
              "https://www.eia.gov/tools/faqs/faq.php?id=74&t=11", "2023",
              "2022: 1.65 billion t CO2 / 4.23 trillion kWh = 0.86 lb CO2/kWh = 390 g/kWh (utility-scale plants, "
              "combustion CO2 only).")
_LI_WATER = Source("Li, Yang, Islam, Ren: Making AI Less 'Thirsty' (arXiv:2304.03271)", "https://arxiv.org/abs/2304.03271",
                   "2023", "U.S. average electricity water intensity factor (off-site, consumption) 3.14 L/kWh.")

GRIDS = [
    GridProfile("Quebec", "Québec (Hydro-Québec)", 0.36, 2016,
                Source("Hydro-Québec, Atmospheric emissions (Activities in 2016)",
                       "http://www.hydroquebec.com/sustainable-development/energy-environment/atmospheric-emissions.html", "2017",
                       "Emissions from electricity generation and purchases in Québec: 360 t CO2/TWh = 0.36 g/kWh. Direct "
                       "emissions only: hydro reservoirs and construction (lifecycle) are not counted."),
                scope="direct", aliases=("QC", "Hydro-Quebec", "Canada Quebec")),
    GridProfile("France", "France", 56, 2023, _EMBER, aliases=("FR",)),
    GridProfile("Norway", "Norway", 30, 2023, _EMBER, aliases=("NO",)),
    GridProfile("California", "California (average grid electricity)", 298.5, 2020,
                Source("California Air Resources Board, LCFS carbon intensity of California average grid electricity (2020 update)",
                       "https://ww2.arb.ca.gov/our-work/programs/low-carbon-fuel-standard", "2020-03",
                       "82.92 gCO2e/MJ x 3.6 MJ/kWh = 298.5 gCO2e/kWh (lifecycle, includes imports)."),
                aliases=("CA", "CAISO")),
    GridProfile("US_Average", "United States (national average)", 390, 2022, _EIA, scope="direct",
                water_L_per_kWh=3.14, field_sources={"water_L_per_kWh": _LI_WATER},
                aliases=("US", "USA", "United States", "US average")),
    GridProfile("Germany", "Germany", 381, 2023, _EMBER, aliases=("DE",)),
    GridProfile("India", "India", 713, 2023, _EMBER, aliases=("IN",)),
    GridProfile("Poland", "Poland", 662, 2023, _EMBER, aliases=("PL",)),
    GridProfile("Canada", "Canada (national average)", 170, 2023, _EMBER),
]

_GOOGLE_PUE = Source("Google Data Centers: Efficiency (fleet-wide trailing twelve-month PUE)",
                     "https://www.google.com/about/datacenters/efficiency/", "2024", "Fleet TTM PUE 1.10 in 2023.")
_UPTIME = Source("Uptime Institute Global Data Center Survey 2023", "https://uptimeinstitute.com/resources/research-and-reports",
                 "2023", "Industry-average annual PUE 1.58.")

PUE = [
    PUEProfile("Hyperscale", "Hyperscale (Google fleet, TTM)", 1.10, 2023, _GOOGLE_PUE, aliases=("Google", "state of the art")),
    PUEProfile("Typical", "Industry average (Uptime survey)", 1.58, 2023, _UPTIME, aliases=("Average", "Industry average")),
    PUEProfile("LiquidCooled", "Warm-water liquid-cooled HPC (NREL ESIF)", 1.06, 2023,
               Source("NREL Energy Systems Integration Facility data center", "https://www.nrel.gov/computational-science/measuring-efficiency-pue.html",
                      "2023", "Annualised PUE about 1.06 for the chiller-less, warm-water liquid-cooled HPC data center."),
               aliases=("Liquid",)),
]

WUE = [
    WUEProfile("Hyperscale", "Hyperscale (AWS global average)", 0.18, 2023,
               Source("Amazon 2023 Sustainability Report (AWS water use effectiveness)", "https://sustainability.aboutamazon.com/2023-report",
                      "2024", "AWS global data center WUE 0.18 L/kWh in 2023."), aliases=("AWS",)),
    WUEProfile("Typical", "U.S. data center average (evaporative cooling)", 1.8, 2016,
               Source("Shehabi et al., United States Data Center Energy Usage Report (LBNL-1005775)",
                      "https://eta.lbl.gov/publications/united-states-data-center-energy", "2016-06",
                      "Average on-site water use of U.S. data centers: 1.8 L/kWh."), aliases=("Average",)),
    WUEProfile("ClosedLoop", "Closed-loop liquid / dry cooling", 0.0, 2023,
               Source("Definition: a closed loop with dry coolers evaporates no water on site", None, None,
                      "Upper idealisation; real sites top up a little."), aliases=("Dry",)),
]

RACKS = [
    RackSpec("Typical", "Typical enterprise rack", 8.4,
             Source("Uptime Institute Global Data Center Survey 2020", "https://uptimeinstitute.com/resources/research-and-reports",
                    "2020", "Average rack density reported: 8.4 kW.")),
    RackSpec("DGX_H100_Rack", "Rack of 4 DGX H100", 40.8,
             Source("NVIDIA DGX SuperPOD reference architecture (DGX H100)",
                    "https://docs.nvidia.com/dgx-superpod/reference-architecture-scalable-infrastructure-h100/latest/", "2023",
                    "Four DGX H100 systems per rack x 10.2 kW max each = 40.8 kW."), cooling="air"),
    RackSpec("GB200_NVL72", "NVIDIA GB200 NVL72 rack", 120.0,
             Source("NVIDIA GB200 NVL72 product page and press coverage", "https://www.nvidia.com/en-us/data-center/gb200-nvl72/", "2024",
                    "72 Blackwell GPUs + 36 Grace CPUs in one liquid-cooled rack; ~120 kW is the widely reported rack power."),
             cooling="liquid", aliases=("NVL72",)),
]

EMBODIED = [
    EmbodiedCarbon("A100", "NVIDIA A100 (BLOOM estimate)", "A100", 150.0, 6.0,
                   Source("Luccioni, Viguier, Ligozat: Estimating the Carbon Footprint of BLOOM (JMLR 2023)",
                          "https://arxiv.org/abs/2211.02001", "2022-11",
                          "Embodied emissions ~150 kgCO2e per A100 GPU (plus ~2,500 kg per server), amortised over a 6-year "
                          "lifetime at the cluster's utilisation."),
                   aliases=("A100_80GB",)),
]

_GRID = {g.key: g for g in GRIDS}
_PUE = {p.key: p for p in PUE}
_WUE = {w.key: w for w in WUE}
_RACK = {r.key: r for r in RACKS}
_COMPOSED = Source("Composed from the grid, PUE, WUE and rack entries", None, None,
                   "A definition for comparison, not a particular facility; see each part's source.")

DATACENTERS = [
    DatacenterSpec("Hyperscale_Quebec", "Hyperscale site on the Québec grid", _GRID["Quebec"], _PUE["Hyperscale"],
                   _WUE["Hyperscale"], _RACK["DGX_H100_Rack"], _COMPOSED),
    DatacenterSpec("Hyperscale_Norway", "Hyperscale site on the Norwegian grid", _GRID["Norway"], _PUE["Hyperscale"],
                   _WUE["Hyperscale"], _RACK["DGX_H100_Rack"], _COMPOSED),
    DatacenterSpec("Hyperscale_US", "Hyperscale site on the U.S. average grid", _GRID["US_Average"], _PUE["Hyperscale"],
                   _WUE["Hyperscale"], _RACK["DGX_H100_Rack"], _COMPOSED),
    DatacenterSpec("Typical_US", "Typical enterprise site on the U.S. average grid", _GRID["US_Average"], _PUE["Typical"],
                   _WUE["Typical"], _RACK["Typical"], _COMPOSED),
    DatacenterSpec("Typical_Poland", "Typical site on the Polish grid", _GRID["Poland"], _PUE["Typical"], _WUE["Typical"],
                   _RACK["Typical"], _COMPOSED),
    DatacenterSpec("Liquid_France", "Liquid-cooled site on the French grid", _GRID["France"], _PUE["LiquidCooled"],
                   _WUE["ClosedLoop"], _RACK["GB200_NVL72"], _COMPOSED),
]
